#!/usr/bin/env bash
# Re-create src/helsegraf/http/static/graphiql/ from the npm registry: the files Strawberry's GraphiQL
# page loads from unpkg.com, so that GraphiQL works on a network without internet access.
# Run it when Strawberry's page asks for new versions (tests/test_graphiql.py fails and names them).
set -euo pipefail
cd "$(dirname "$0")/.."
target=src/helsegraf/http/static/graphiql
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# package@version  file-in-package  vendored-name
assets=(
  "react@18.2.0 umd/react.production.min.js react-18.2.0.production.min.js"
  "react-dom@18.2.0 umd/react-dom.production.min.js react-dom-18.2.0.production.min.js"
  "js-cookie@3.0.5 dist/js.cookie.min.js js-cookie-3.0.5.min.js"
  "graphiql@3.8.3 graphiql.min.css graphiql-3.8.3.min.css"
  "graphiql@3.8.3 graphiql.min.js graphiql-3.8.3.min.js"
  "@graphiql/plugin-explorer@1.0.2 dist/style.css plugin-explorer-1.0.2.css"
  "@graphiql/plugin-explorer@1.0.2 dist/index.umd.js plugin-explorer-1.0.2.umd.js"
)

rm -rf "$target" && mkdir -p "$target"
{
  echo "# Third-party files served with GraphiQL"
  echo
  echo "Copied unchanged from the npm registry by tools/vendor-graphiql.sh."
} > "$target/NOTICE.md"
declare -A seen
for line in "${assets[@]}"; do
  read -r spec file name <<<"$line"
  dir="$work/${spec//[@\/]/_}"
  if [ -z "${seen[$spec]:-}" ]; then
    mkdir -p "$dir"
    (cd "$dir" && npm pack -s "$spec" >/dev/null && tar xzf ./*.tgz)
    {
      echo
      echo "## $spec ($(node -p "require('$dir/package/package.json').license"))"
      echo
      cat "$dir/package/LICENSE"* 2>/dev/null || echo "The package carries no licence text; its package.json names the licence above."
    } >> "$target/NOTICE.md"
    seen[$spec]=1
  fi
  cp "$dir/package/$file" "$target/$name"
done
ls -l "$target"
