"""Client side of the per-backend gc runtime test, with only MLFLOW_TRACKING_URI and credentials: in a new
experiment, one run with a file artifact and one with none (params and metrics only, as sweeps and failed
runs are); deletes both runs and then the experiment; prints JSON."""

import json
import os
import sys
import tempfile

import mlflow
from mlflow import MlflowClient


def main(experiment_name):
    experiment_id = mlflow.set_experiment(experiment_name).experiment_id
    with tempfile.TemporaryDirectory() as d, mlflow.start_run(run_name="with-artifact") as with_artifact:
        path = os.path.join(d, "model.txt")
        with open(path, "w") as f:
            f.write("an artifact gc must delete\n")
        mlflow.log_artifact(path, artifact_path="docs")
    with mlflow.start_run(run_name="without-artifact") as without_artifact:
        mlflow.log_param("kind", "sweep")
        mlflow.log_metric("loss", 0.25)
    client = MlflowClient()
    runs = [with_artifact.info.run_id, without_artifact.info.run_id]
    for run_id in runs:
        client.delete_run(run_id)
    client.delete_experiment(experiment_id)
    assert client.get_experiment(experiment_id).lifecycle_stage == "deleted"
    print(json.dumps({"experiment_id": experiment_id, "with_artifact": runs[0], "without_artifact": runs[1]}))


if __name__ == "__main__":
    main(sys.argv[1])
