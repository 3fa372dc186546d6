#!/usr/bin/env bash
# npm run sbom: CycloneDX SBOMs (JSON, spec 1.6, reproducible) into sbom/:
#   sbom/npm.cdx.json                     the installed npm dependency tree (cyclonedx-npm; dev dependencies
#                                         included, as they run in CI and `pulumi up`)
#   sbom/server-requirements.cdx.json     each hash-locked Python lock under server/ (cyclonedx-py, pinned
#   sbom/server-requirements-migrate.cdx.json  in scripts/python-tools.txt), hashes included
# Each file is then checked to be a CycloneDX document that lists the packages it must list.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/python-tools.sh
. scripts/python-tools.sh
mkdir -p sbom

npx --no-install cyclonedx-npm --output-format JSON --spec-version 1.6 --output-reproducible \
  --output-file sbom/npm.cdx.json package.json

for lock in server/requirements.txt server/requirements-migrate.txt; do
  name="server-$(basename "$lock" .txt)"
  cyclonedx-py requirements --output-format JSON --spec-version 1.6 --output-reproducible \
    --output-file "sbom/$name.cdx.json" "$lock"
done

# shellcheck disable=SC2016 # JavaScript, not shell: ${} and backticks are the script's own.
node -e '
  const fs = require("fs");
  const expect = {
    "sbom/npm.cdx.json": ["@pulumi/pulumi", "@pulumi/aws"],
    "sbom/server-requirements.cdx.json": ["mlflow", "psycopg2-binary", "boto3"],
    "sbom/server-requirements-migrate.cdx.json": ["mlflow", "databricks-mlflow-export-import"],
  };
  for (const [file, names] of Object.entries(expect)) {
    const bom = JSON.parse(fs.readFileSync(file, "utf8"));
    const found = new Set((bom.components ?? []).map((c) => (c.group ? c.group + "/" : "") + c.name));
    const missing = names.filter((n) => !found.has(n));
    if (bom.bomFormat !== "CycloneDX" || bom.specVersion !== "1.6" || missing.length > 0) {
      console.error(`sbom: ${file} is not a CycloneDX 1.6 SBOM listing ${missing.join(", ")}`);
      process.exit(1);
    }
    console.log(`sbom: ${file}: ${found.size} components`);
  }
'
