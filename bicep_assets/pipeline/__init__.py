"""The deployment pipeline: one Dagster job per environment (lint → plan → gate → deploy →
verify). Ops are thin; the logic beside them is plain functions testable without Dagster."""
