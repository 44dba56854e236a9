#!/usr/bin/env bash
# Regenerate the typed models of the registers' contracts (src/helsegraf/upstream/contracts/*.py)
# from the OpenAPI documents beside them. Needs the dev extra (datamodel-code-generator).
set -euo pipefail
cd "$(dirname "$0")/.."
dir=src/helsegraf/upstream/contracts
for pair in persontjenesten-openapi.yaml:persontjenesten enhetsregisteret-openapi.yml:enhetsregisteret \
            enhetsregisteret-responses.yml:enhetsregisteret_responses; do
  source="${pair%%:*}" module="${pair##*:}"
  datamodel-codegen --input "$dir/$source" --input-file-type openapi --output "$dir/$module.py" \
    --output-model-type pydantic_v2.BaseModel --target-python-version 3.11 --use-standard-collections \
    --use-union-operator --field-constraints --disable-timestamp --use-double-quotes
done
echo "regenerated $(ls "$dir"/*.py | grep -vc __init__) contract modules in $dir"
