"""``bicep-assets emulator az-env`` in process: what it prints, and its bad arguments (exit 2
naming the flag)."""

from __future__ import annotations

import shlex
from pathlib import Path

import certifi
import pytest

from bicep_assets.cli import main

CA = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"


def _exports(text: str) -> dict[str, str]:
    result = {}
    for line in text.splitlines():
        name, _, value = line.removeprefix("export ").partition("=")
        result[name] = shlex.split(value)[0]
    return result


def test_az_env_prints_the_environment_and_writes_the_bundle(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ca = tmp_path / "localarm-ca.pem"
    ca.write_text(CA, encoding="utf-8")
    code = main(
        [
            "emulator",
            "az-env",
            "--endpoint",
            "https://127.0.0.1:8443/",
            "--token",
            "s e'cret",
            "--ca-file",
            str(ca),
        ]
    )
    assert code == 0
    env = _exports(capsys.readouterr().out)
    config = tmp_path.resolve() / "az"
    assert env == {
        "AZURE_CONFIG_DIR": str(config),
        "REQUESTS_CA_BUNDLE": str(config / "ca-bundle.pem"),
        "SSL_CERT_FILE": str(config / "ca-bundle.pem"),
        "ARM_CLOUD_METADATA_URL": "https://127.0.0.1:8443/metadata/endpoints?api-version=2019-05-01",
        "AZURE_CLOUD_NAME": "LocalArm",
        "IDENTITY_ENDPOINT": "https://127.0.0.1:8443/msi/token",
        "IDENTITY_HEADER": "s e'cret",
        "AZURE_CORE_COLLECT_TELEMETRY": "no",
    }
    bundle = (config / "ca-bundle.pem").read_text(encoding="utf-8")
    assert bundle.endswith(CA)
    assert bundle.startswith(Path(certifi.where()).read_text(encoding="utf-8")[:200])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--endpoint", "http://127.0.0.1:8443"], "--endpoint http://127.0.0.1:8443: expected"),
        (["--endpoint", "https://127.0.0.1:8443/x"], "--endpoint https://127.0.0.1:8443/x:"),
        (["--token", " "], "--token: must not be empty"),
        (["--ca-file", "missing.pem"], "--ca-file missing.pem: No such file or directory"),
        (["--ca-file", "not-pem.txt"], "--ca-file not-pem.txt: not a PEM certificate"),
    ],
    ids=["http", "path", "empty-token", "missing-ca", "not-pem"],
)
def test_az_env_refuses_bad_arguments(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    args: list[str],
    message: str,
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "ca.pem").write_text(CA, encoding="utf-8")
    (tmp_path / "not-pem.txt").write_text("hello", encoding="utf-8")
    given = {"--endpoint": "https://127.0.0.1:8443", "--token": "t", "--ca-file": "ca.pem"}
    given.update(dict(zip(args[::2], args[1::2], strict=True)))
    argv = ["emulator", "az-env", *[x for pair in given.items() for x in pair]]
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith(f"error: {message}")
