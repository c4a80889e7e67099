#!/usr/bin/env bash
# The text demo: installs what is missing, builds, converts the four small
# GPTs trained on one of Debian's texts (one per attention variant, with their
# BPE tokenizer), prints a table per variant and lets each continue a prompt.
#   bash scripts/text-demo.sh ["PROMPT"] [kjv|fortunes]
# kjv (the default): the King James Bible; fortunes: the fortune cookies.
set -euo pipefail
cd "$(dirname "$0")/.."
corpus=${2:-kjv}
case $corpus in
  kjv) default_prompt="And the LORD said unto Moses," ;;
  fortunes) default_prompt="The secret of life is" ;;
  *) echo "text-demo.sh: unknown corpus '$corpus' (kjv or fortunes)" >&2; exit 2 ;;
esac
prompt=${1:-$default_prompt}
examples=examples/$corpus
bash scripts/install-deps.sh
bash scripts/build.sh
out=build/text-demo/$corpus
mkdir -p "$out"
for v in standard optimized efficient super; do
  build/converter/attn-convert "$examples/$v" --tokenizer "$examples/tokenizer" \
    -o "$out/$v.attnmodel" -q
  build/tools/attn-infer "$out/$v.attnmodel" --bench --tokens 16 --decode 48 --min-time 1 --json -q \
    >"$out/$v.bench.json"
done
/usr/bin/python3 - "$out" "$examples" <<'PY'
import json, os, sys
out, examples = sys.argv[1:3]
print("%-10s %10s %10s %10s %10s %12s" % ("variant", "params", "attn/layer", "valid ppl", "file", "decode tok/s"))
for v in ("standard", "optimized", "efficient", "super"):
    t = json.load(open(os.path.join(examples, v, "training.json")))
    b = json.load(open(os.path.join(out, v + ".bench.json")))
    size = os.path.getsize(os.path.join(out, v + ".attnmodel"))
    layers = json.load(open(os.path.join(examples, v, "config.json")))["layers"]
    print("%-10s %10d %10d %10.2f %8.2f MB %12.0f" % (
        v, t["parameters"], t["attention_parameters"] // layers, t["valid_perplexity"], size / 1e6,
        b["generation"][0]["decode_tokens_per_s"]))
PY
for v in standard optimized efficient super; do
  echo
  echo "== $v"
  build/tools/attn-generate "$out/$v.attnmodel" --prompt "$prompt" -n 48 \
    --temperature 0.8 --top-k 40 --repeat-penalty 1.1 --seed 1
done
