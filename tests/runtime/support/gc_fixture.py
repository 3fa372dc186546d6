"""Client side of the gc runtime test, with only MLFLOW_TRACKING_URI and credentials: logs two runs with
a file artifact each through the server, deletes one through the API (a soft delete), prints JSON."""

import json
import os
import sys
import tempfile

import mlflow
from mlflow import MlflowClient


def log_run(name, directory):
    path = os.path.join(directory, f"{name}.txt")
    with open(path, "w") as f:
        f.write(f"artifact of the {name} run\n")
    with mlflow.start_run(run_name=name) as run:
        mlflow.log_param("kind", name)
        mlflow.log_metric("loss", 0.5)
        mlflow.log_artifact(path, artifact_path="docs")
    return {"run_id": run.info.run_id, "artifact_uri": run.info.artifact_uri}


def main(experiment_name):
    experiment_id = mlflow.set_experiment(experiment_name).experiment_id
    with tempfile.TemporaryDirectory() as d:
        live = log_run("live", d)
        deleted = log_run("deleted", d)
    client = MlflowClient()
    client.delete_run(deleted["run_id"])
    assert client.get_run(deleted["run_id"]).info.lifecycle_stage == "deleted"
    print(json.dumps({"experiment_id": experiment_id, "live": live, "deleted": deleted}))


if __name__ == "__main__":
    main(sys.argv[1])
