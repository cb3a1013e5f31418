#!/usr/bin/env bash
# mypy cannot follow setuptools' editable-install finder, so give it the import tree the
# installed package has (newsdrop -> services/, newsdrop.shared -> shared/) as symlinks.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
tree="$root/build/typecheck/newsdrop"
rm -rf "$root/build/typecheck"
mkdir -p "$tree"
for entry in "$root"/services/*; do
  ln -s "$entry" "$tree/$(basename "$entry")"
done
ln -s "$root/shared" "$tree/shared"
