"""An MLflow client with only MLFLOW_TRACKING_URI and MLFLOW_TRACKING_USERNAME/PASSWORD: logs an
experiment, params, metrics, a file artifact and a pyfunc model, reads them back, prints JSON."""

import json
import os
import sys
import tempfile

for var in os.environ:
    if var.startswith(("AWS_", "AZURE_", "GOOGLE_", "MLFLOW_S3", "STORAGE_EMULATOR")):
        sys.exit(f"client environment must not hold cloud settings: {var}")

import mlflow
import mlflow.pyfunc
from mlflow import MlflowClient


class AddN(mlflow.pyfunc.PythonModel):
    def __init__(self, n):
        self.n = n

    def predict(self, context, model_input, params=None):
        return [x + self.n for x in model_input]


def main(experiment_name):
    mlflow.set_experiment(experiment_name)
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "notes.txt")
        with open(path, "w") as f:
            f.write("hello artifact store\n")
        with mlflow.start_run() as run:
            mlflow.log_params({"alpha": "0.5", "layers": "3"})
            for step in range(5):
                mlflow.log_metric("loss", 1.0 / (step + 1), step=step)
            mlflow.log_artifact(path, artifact_path="docs")
            info = mlflow.pyfunc.log_model(name="model", python_model=AddN(2), pip_requirements=["mlflow"])
        run_id = run.info.run_id
        client = MlflowClient()
        got = client.get_run(run_id)
        assert got.data.params == {"alpha": "0.5", "layers": "3"}, got.data.params
        history = client.get_metric_history(run_id, "loss")
        assert [m.step for m in history] == list(range(5))
        local = client.download_artifacts(run_id, "docs/notes.txt", d)
        with open(local) as f:
            assert f.read() == "hello artifact store\n"
        model = mlflow.pyfunc.load_model(info.model_uri)
        assert list(model.predict([1, 2])) == [3, 4]
        artifacts = [a.path for a in client.list_artifacts(run_id)]
    print(json.dumps({"run_id": run_id, "experiment_id": run.info.experiment_id,
                      "artifact_uri": run.info.artifact_uri, "artifacts": artifacts}))


if __name__ == "__main__":
    main(sys.argv[1])
