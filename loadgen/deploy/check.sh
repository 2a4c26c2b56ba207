#!/bin/bash
# Checks the launch recipes offline: the Kubernetes manifest against the Kubernetes schema
# (kubernetes-validate ships the schemas: `pip install kubernetes-validate==1.37.0`), and the
# Slurm script's syntax.
set -euo pipefail
cd "$(dirname "$0")"
kubernetes-validate --strict --quiet kubernetes/loadgen-job.yaml
bash -n slurm/loadgen.sbatch
echo "deploy recipes: ok"
