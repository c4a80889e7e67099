#!/usr/bin/env bash
# End-to-end checks of attn-convert, attn-infer and the C example, as a user
# runs them. Usage: cli_test.sh BUILD_DIR DATA_DIR
set -u
build=$1
data=$2
convert=$build/converter/attn-convert
infer=$build/tools/attn-infer
classify=$build/examples/classify
py=/usr/bin/python3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
passed=0
failed=0

ok() { passed=$((passed + 1)); }
bad() { failed=$((failed + 1)); echo "FAILED: $*"; }
expect() {  # expect "description" command... ; passes when the command succeeds
  local what=$1
  shift
  if "$@"; then ok; else bad "$what"; fi
}
contains() { grep -q -- "$2" "$1"; }

fx=$data/fixtures

# A good conversion prints the summary and writes the file.
"$convert" "$fx/vit-super-mean" -o "$work/vit.attnmodel" >"$work/out" 2>&1
expect "convert exits 0" test $? -eq 0
expect "convert writes the model" test -s "$work/vit.attnmodel"
expect "summary names the variant" contains "$work/out" "attention       super"
expect "summary compares with standard" contains "$work/out" "standard would need"

# --checkpoint and --config instead of a folder.
"$convert" --checkpoint "$fx/hf-gpt2-tiny/model.safetensors" --config "$fx/hf-gpt2-tiny/config.json" \
  -o "$work/gpt2.attnmodel" -q
expect "convert with --checkpoint/--config" test -s "$work/gpt2.attnmodel"

# A variant that does not match the tensors: error names the tensor, no file.
sed 's/"attention": *"standard"/"attention": "efficient"/' "$fx/vit-standard-split-mean/config.json" >"$work/efficient.json"
"$convert" "$fx/vit-standard-split-mean" --config "$work/efficient.json" -o "$work/wrong.attnmodel" 2>"$work/err"
expect "mismatched variant exits non-zero" test $? -ne 0
expect "the error names the K weight" contains "$work/err" "blocks.0.attn.k.weight"
expect "no output file after an error" test ! -e "$work/wrong.attnmodel"
expect "no temporary file left behind" test -z "$(ls "$work" | grep tmp)"

# A truncated checkpoint.
head -c 3000 "$fx/vit-super-mean/model.safetensors" >"$work/cut.safetensors"
"$convert" --checkpoint "$work/cut.safetensors" --config "$fx/vit-super-mean/config.json" -o "$work/cut.attnmodel" 2>"$work/err"
expect "truncated checkpoint exits non-zero" test $? -ne 0
expect "truncated checkpoint error" contains "$work/err" "cut.safetensors"
expect "no output for a truncated checkpoint" test ! -e "$work/cut.attnmodel"

# An existing output is kept when a conversion fails.
echo keep >"$work/existing.attnmodel"
"$convert" --checkpoint "$work/cut.safetensors" --config "$fx/vit-super-mean/config.json" -o "$work/existing.attnmodel" 2>/dev/null
expect "a failed conversion leaves an existing file alone" contains "$work/existing.attnmodel" keep

# attn-infer over a batch, against the float64 reference.
"$infer" "$work/gpt2.attnmodel" -i "$fx/hf-gpt2-tiny/inputs.npy" -o "$work/gpt2.npy" -q
expect "attn-infer writes outputs" test -s "$work/gpt2.npy"
expect "attn-infer outputs match the reference" "$py" -c "
import numpy as np, sys
y = np.load('$work/gpt2.npy'); r = np.load('$fx/hf-gpt2-tiny/expected.npy')
sys.exit(0 if y.shape == r.shape and np.abs(y - r).max() <= 1e-4 * max(1, np.abs(r).max()) else 1)"
"$py" -c "import numpy as np; np.save('$work/ids64.npy', np.load('$fx/hf-gpt2-tiny/inputs.npy').astype(np.int64))"
"$infer" "$work/gpt2.attnmodel" -i "$work/ids64.npy" -o "$work/gpt2_64.npy" -q
expect "int64 ids give the same output" cmp -s "$work/gpt2.npy" "$work/gpt2_64.npy"

# attn-infer errors: wrong shape, wrong dtype, ids outside the vocabulary.
"$infer" "$work/vit.attnmodel" -i "$fx/hf-gpt2-tiny/inputs.npy" -o "$work/no.npy" 2>"$work/err"
expect "wrong input exits non-zero" test $? -ne 0
expect "wrong input error names the expected shape" contains "$work/err" "the model takes"
expect "no output file after an input error" test ! -e "$work/no.npy"
"$py" -c "import numpy as np; np.save('$work/big.npy', np.full((2, 5), 300, dtype=np.int32))"
"$infer" "$work/gpt2.attnmodel" -i "$work/big.npy" -o "$work/no.npy" 2>"$work/err"
expect "out-of-vocabulary id exits non-zero" test $? -ne 0
expect "the error names the token id" contains "$work/err" "token id 300"
"$infer" "$work/gpt2.attnmodel" >"$work/out"
expect "attn-infer describes a model" contains "$work/out" "family       gpt"
printf 'garbage' >"$work/garbage.attnmodel"
"$infer" "$work/garbage.attnmodel" 2>"$work/err"
expect "a corrupt model exits non-zero" test $? -ne 0
expect "a corrupt model error" contains "$work/err" "garbage.attnmodel"

# The C example classifies one image like the reference does.
"$convert" "$fx/timm-vit-tiny" -o "$work/timm.attnmodel" -q
"$py" -c "import numpy as np; np.load('$fx/timm-vit-tiny/inputs.npy')[1].astype('<f4').tofile('$work/img.f32')"
want=$("$py" -c "import numpy as np; print(int(np.load('$fx/timm-vit-tiny/expected.npy')[1].argmax()))")
"$classify" "$work/timm.attnmodel" "$work/img.f32" >"$work/out"
expect "the C example runs" test $? -eq 0
expect "the C example finds the reference's class" contains "$work/out" "class $want "

# attn-generate: greedy ids are the arg-max of the full-sequence logits at each
# step, a seed repeats a sampled run, and passing the context is refused.
generate=$build/tools/attn-generate
"$generate" "$work/gpt2.attnmodel" --prompt-ids 5,17,42 -n 12 -q >"$work/greedy"
expect "attn-generate greedy runs" test -s "$work/greedy"
"$py" -c "import numpy as np; np.save('$work/seq.npy', np.array([[5, 17, 42] + [int(t) for t in open('$work/greedy').read().split(',')][:-1]], dtype=np.int32))"
"$infer" "$work/gpt2.attnmodel" -i "$work/seq.npy" -o "$work/seq_logits.npy" -q
expect "greedy generation follows the full-sequence arg-max" "$py" -c "
import numpy as np, sys
ids = [int(t) for t in open('$work/greedy').read().split(',')]
logits = np.load('$work/seq_logits.npy')[0]
sys.exit(0 if list(logits[2:].argmax(-1)) == ids else 1)"
"$generate" "$work/gpt2.attnmodel" --prompt-ids 1,2 -n 10 --top-k 40 --top-p 0.9 --temperature 0.8 --seed 3 -q >"$work/s1"
"$generate" "$work/gpt2.attnmodel" --prompt-ids 1,2 -n 10 --top-k 40 --top-p 0.9 --temperature 0.8 --seed 3 -q >"$work/s2"
expect "a seed repeats a sampled generation" cmp -s "$work/s1" "$work/s2"
"$generate" "$work/gpt2.attnmodel" --prompt-ids 1,2 -n 31 -q >/dev/null 2>"$work/err"
expect "generating past the context exits non-zero" test $? -ne 0
expect "the error names the context" contains "$work/err" "context of 32"
"$generate" "$work/timm.attnmodel" --prompt-ids 1 -n 2 2>"$work/err"
expect "generation refuses a vit model" contains "$work/err" "needs a gpt model"

echo "cli: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
