#!/usr/bin/env bash
# End-to-end checks of attn-convert, attn-infer and the C example, as a user
# runs them. Usage: cli_test.sh BUILD_DIR DATA_DIR VERSION (CMake's project version)
set -u
build=$1
data=$2
version=$3
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
expect "no temporary file left behind" test -z "$(find "$work" -mindepth 1 -name '*tmp*')"

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

# --- Text in, text out: the fortunes GPT and its tokenizer ---------------------
fort=$data/../../examples/fortunes
"$convert" "$fort/efficient" --tokenizer "$fort/tokenizer" -o "$work/fort.attnmodel" >"$work/out" 2>&1
expect "convert stores the tokenizer" contains "$work/out" "tokenizer       2048 tokens"
mkdir -p "$work/hf" && cp "$fort/efficient/"* "$fort/tokenizer/"* "$work/hf/"
"$convert" "$work/hf" -o "$work/hf.attnmodel" >"$work/out" 2>&1
expect "a checkpoint folder's vocab.json + merges.txt are picked up" contains "$work/out" "tokenizer       2048 tokens"
expect "and give the same file as --tokenizer" cmp -s "$work/hf.attnmodel" "$work/fort.attnmodel"
prompt="Q: Why did the chicken cross the road?  It's a café — naïve 😀"
"$generate" "$work/fort.attnmodel" --prompt "$prompt" --tokenize-only >"$work/ids"
expect "--tokenize-only gives the Python trainer's encoder's ids" "$py" -c "
import json, sys
sys.path.insert(0, '$data/../../converter/python')
from attn_torch import bpe
vocab = json.load(open('$fort/tokenizer/vocab.json', encoding='utf-8'))
merges = [tuple(l.rstrip('\n').split(' ')) for l in open('$fort/tokenizer/merges.txt', encoding='utf-8').readlines()[1:]]
ids = bpe.Encoder(vocab, merges).encode(sys.argv[1])
sys.exit(0 if open('$work/ids').read().strip() == ','.join(map(str, ids)) else 1)" "$prompt"
"$generate" "$work/fort.attnmodel" --prompt "The secret of life is" -n 40 --temperature 0.8 --top-k 40 \
  --top-p 0.95 --repeat-penalty 1.1 --seed 5 >"$work/t1" 2>"$work/err"
expect "generation prints the prompt first" "$py" -c "import sys; sys.exit(0 if open('$work/t1').read().startswith('The secret of life is') else 1)"
expect "generation reports time to first token and tokens/s" contains "$work/err" "time to first token"
"$generate" "$work/fort.attnmodel" --prompt "The secret of life is" -n 40 --temperature 0.8 --top-k 40 \
  --top-p 0.95 --repeat-penalty 1.1 --seed 5 -q >"$work/t2"
expect "the same seed gives the same text" cmp -s "$work/t1" "$work/t2"
"$generate" "$work/fort.attnmodel" --prompt "Hello" -n 30 --temperature 0 -q >"$work/g1"
"$generate" "$work/fort.attnmodel" --prompt "Hello" -n 30 -q >"$work/g2"
expect "--temperature 0 is greedy" cmp -s "$work/g1" "$work/g2"
# A stop string taken from the sampled continuation (two visible characters
# after its first): the text ends just before it.
stop=$("$py" -c "
import re
c = open('$work/t1', encoding='utf-8', errors='replace').read()[len('The secret of life is') + 1:]
m = re.search(r'\S\S', c)
print(m.group(0) if m else '')")
"$generate" "$work/fort.attnmodel" --prompt "The secret of life is" -n 40 --temperature 0.8 --top-k 40 \
  --top-p 0.95 --repeat-penalty 1.1 --seed 5 --stop "$stop" -q >"$work/t3"
expect "--stop ends the text before the stop string" "$py" -c "
import sys
full = open('$work/t1', 'rb').read(); cut = open('$work/t3', 'rb').read()[:-1]
stop = sys.argv[1].encode()
sys.exit(0 if stop and stop not in cut[21:] and full.startswith(cut) and full[len(cut):].startswith(stop) else 1)" "$stop"
"$generate" "$work/fort.attnmodel" --prompt "x" -n 100000 >/dev/null 2>"$work/err"
expect "a run past the context is refused" contains "$work/err" "context of 128"
"$generate" "$work/gpt2.attnmodel" --prompt "hi" 2>"$work/err"
expect "a text prompt needs a tokenizer (exit 1)" test $? -eq 1
expect "the error says the model has no tokenizer" contains "$work/err" "no tokenizer"
"$generate" 2>/dev/null
expect "no arguments is a usage error (exit 2)" test $? -eq 2
"$generate" "$work/fort.attnmodel" --prompt a --bogus 2>/dev/null
expect "an unknown flag is a usage error (exit 2)" test $? -eq 2
"$generate" "$work/fort.attnmodel" --prompt a --top-p 2 2>/dev/null
expect "an out-of-range value is a usage error (exit 2)" test $? -eq 2
"$convert" "$fx/hf-gpt2-tiny" --tokenizer "$fort/tokenizer" -o "$work/bad.attnmodel" 2>"$work/err"
expect "a tokenizer larger than the model's vocabulary is refused" contains "$work/err" "more than the model's vocab_size"
expect "and no file is written" test ! -e "$work/bad.attnmodel"

# The text demo's default models (the King James Bible GPTs): each converts
# with its tokenizer and continues the demo's prompt, greedily.
kjv=$data/../../examples/kjv
for v in standard optimized efficient super; do
  "$convert" "$kjv/$v" --tokenizer "$kjv/tokenizer" -o "$work/kjv-$v.attnmodel" -q
  "$generate" "$work/kjv-$v.attnmodel" --prompt "And the LORD said unto Moses," -n 8 --temperature 0 -q >"$work/kjv-$v.txt"
  expect "the $v KJV model continues the prompt" "$py" -c "
import sys; t = open('$work/kjv-$v.txt', encoding='utf-8').read()
sys.exit(0 if t.startswith('And the LORD said unto Moses,') and len(t.strip()) > 40 else 1)"
done

# --- Benchmarking and verifying (attn-infer --bench/--compare/--profile/--verify,
# attn-convert --random-init/--embed-sample). Few runs: correctness, not speed.
"$infer" "$work/vit.attnmodel" --bench --iters 3 --warmup 1 --threads 1,2 --json -q >"$work/bench.json"
expect "--bench --json exits 0" test $? -eq 0
expect "--bench --json parses, with the agreed keys" "$py" -c "
import json, sys
j = json.load(open('$work/bench.json'))
top = ['attn_version', 'commit', 'date', 'model', 'family', 'attention', 'kernel_path', 'cpu', 'build_type', 'input',
       'load_ms', 'prepare_ms', 'first_run_ms', 'tokens', 'results', 'profile']
per = ['threads', 'iters', 'min_ms', 'p50_ms', 'p90_ms', 'p99_ms', 'mean_ms', 'stddev_ms', 'runs_per_s', 'peak_rss_mib']
ok = list(j) == top and [r['threads'] for r in j['results']] == [1, 2] and all(list(r) == per for r in j['results'])
ok = ok and all(r['iters'] == 3 and r['min_ms'] <= r['p50_ms'] <= r['p99_ms'] for r in j['results'])
ok = ok and j['profile'] is None and j['tokens'] is None and j['family'] == 'vit' and j['load_ms'] > 0
sys.exit(0 if ok else 1)"
"$infer" "$work/vit.attnmodel" --bench --profile --iters 3 --json -q >"$work/profile.json"
expect "--profile shares sum to 1" "$py" -c "
import json, sys
p = json.load(open('$work/profile.json'))['profile']
sys.exit(0 if sorted(p) == sorted(['attention', 'dense', 'norm', 'activation', 'other']) and abs(sum(p.values()) - 1) < 1e-3 else 1)"
"$infer" "$work/vit.attnmodel" --bench --iters 2 --threads 1,2 --csv -q >"$work/bench.csv"
expect "--bench --csv has a header and a row per thread count" "$py" -c "
import csv, sys
rows = list(csv.DictReader(open('$work/bench.csv')))
sys.exit(0 if len(rows) == 2 and rows[1]['threads'] == '2' and float(rows[0]['p50_ms']) > 0 else 1)"
"$infer" "$work/vit.attnmodel" --bench --iters 2 --profile --md -q >"$work/bench.md"
expect "--bench --md prints Markdown tables" contains "$work/bench.md" "| threads | runs | min ms | p50 ms"
expect "--bench --md prints the profile" contains "$work/bench.md" "| attention |"
"$infer" "$work/vit.attnmodel" --bench --iters 2 -q >"$work/bench.txt"
expect "--bench prints a table by default" contains "$work/bench.txt" "p99 ms"
expect "--bench names the kernel path" contains "$work/bench.txt" "kernels    "
"$infer" "$work/gpt2.attnmodel" --bench --iters 2 --tokens 5 --json -q >"$work/gpt.json"
expect "--tokens sets a gpt model's length" "$py" -c "
import json, sys; sys.exit(0 if json.load(open('$work/gpt.json'))['tokens'] == 5 else 1)"
"$infer" "$work/gpt2.attnmodel" --bench --iters 2 --input "$fx/hf-gpt2-tiny/inputs.npy" --json -q >"$work/gpt_in.json"
expect "--bench --input uses the file's first item" "$py" -c "
import json, sys; sys.exit(0 if json.load(open('$work/gpt_in.json'))['tokens'] > 0 else 1)"
"$infer" "$work/vit.attnmodel" --bench --tokens 5 2>"$work/err"
expect "--tokens on an image model is refused" contains "$work/err" "token ids"

# --random-init: the four variants of one model, then --compare.
for v in standard optimized efficient super; do
  sed "s/\"attention\": *\"[a-z]*\"/\"attention\": \"$v\"/" "$fx/text-super-postnorm/config.json" >"$work/cfg_$v.json"
  "$convert" --random-init "$work/cfg_$v.json" --seed 5 -o "$work/text_$v.attnmodel" >"$work/out_$v"
done
expect "--random-init prints the summary" contains "$work/out_super" "attention       super"
expect "--random-init names the seed" contains "$work/out_super" "random, seed 5"
"$infer" "$work/text_super.attnmodel" >"$work/out"
expect "a random-init model says where it came from" contains "$work/out" "random-init seed 5"
"$infer" --compare "$work"/text_{standard,optimized,efficient,super}.attnmodel --rounds 3 --iters 2 -q >"$work/cmp.txt"
expect "--compare exits 0" test $? -eq 0
expect "--compare prints ratios with intervals" grep -Eq "super +[0-9.]+ +[0-9.]+ +\[[0-9.]+, [0-9.]+\]" "$work/cmp.txt"
"$infer" --compare "$work"/text_{standard,optimized,efficient,super}.attnmodel --rounds 3 --iters 2 --json -q >"$work/cmp.json"
expect "--compare --json parses, with the agreed keys" "$py" -c "
import json, sys
j = json.load(open('$work/cmp.json'))
keys = ['model', 'attention', 'p50_ms', 'ratio', 'ratio_ci_low', 'ratio_ci_high', 'runs']
c = j['compare']
ok = list(j) == ['attn_version', 'commit', 'date', 'kernel_path', 'cpu', 'build_type', 'input', 'compare', 'threads',
                 'rounds'] and j['rounds'] == 3 and len(c) == 4 and all(list(e) == keys for e in c)
ok = ok and [e['attention'] for e in c] == ['standard', 'optimized', 'efficient', 'super'] and c[0]['ratio'] == 1
ok = ok and all(e['ratio_ci_low'] <= e['ratio'] <= e['ratio_ci_high'] and e['runs'] == 6 for e in c)
sys.exit(0 if ok else 1)"
"$infer" --compare "$work/text_standard.attnmodel" "$work/text_super.attnmodel" --rounds 2 --iters 1 --csv -q >"$work/cmp.csv"
expect "--compare --csv" contains "$work/cmp.csv" "attn_version,commit,date,kernel_path,cpu,build_type,input,model,attention,threads,rounds,runs,p50_ms,ratio,ratio_ci_low,ratio_ci_high"
"$py" "$(dirname "$0")/../bench/plot.py" "$work/cmp.json" -o "$work/cmp.png" >/dev/null
expect "bench/plot.py reads --compare JSON" test -s "$work/cmp.png"
for v in standard super; do
  "$infer" "$work/text_$v.attnmodel" --bench --iters 2 --json -q >"$work/bench_$v.json"
done
"$py" "$(dirname "$0")/../bench/plot.py" "$work/bench_standard.json" "$work/bench_super.json" -o "$work/bench.png" >/dev/null
expect "bench/plot.py reads --bench JSON" test -s "$work/bench.png"
"$infer" --compare "$work/text_standard.attnmodel" --rounds 2 2>"$work/err"
expect "--compare needs two models" contains "$work/err" "at least two models"

# --embed-sample and --verify.
"$convert" "$fx/vit-super-mean" -o "$work/vit_s.attnmodel" --embed-sample "$fx/vit-super-mean/inputs.npy" \
  --embed-count 2 >"$work/out"
expect "--embed-sample reports the samples" contains "$work/out" "samples         2 embedded"
"$infer" "$work/vit_s.attnmodel" --verify >"$work/out"
expect "--verify passes on a converted model" test $? -eq 0
expect "--verify reports the largest error" contains "$work/out" "passed: the largest error is"
"$infer" "$work/vit_s.attnmodel" --verify --kernel-path scalar --dense xnnpack >"$work/out"
expect "--verify on the scalar path with XNNPACK's dense layers" test $? -eq 0
expect "--kernel-path names the path it ran" contains "$work/out" "scalar kernels"
"$infer" "$work/vit_s.attnmodel" --verify --kernel-path nonesuch 2>"$work/err"
expect "an unknown --kernel-path exits 1" test $? -eq 1
expect "an unknown --kernel-path lists the paths there are" contains "$work/err" "there are: scalar"
for weights in q8 q8c; do
  "$convert" "$fx/vit-super-mean" -o "$work/vit_$weights.attnmodel" --weights $weights \
    --embed-sample "$fx/vit-super-mean/inputs.npy" --embed-count 2 >"$work/out"
  expect "--weights $weights converts" contains "$work/out" "weights         $weights ("
  "$infer" "$work/vit_$weights.attnmodel" --verify >"$work/out"
  expect "--verify passes on a $weights model" test $? -eq 0
  "$infer" "$work/vit_$weights.attnmodel" --verify --quant-kernels scalar >"$work/out"
  expect "--verify passes on a $weights model with the scalar quantized kernels" test $? -eq 0
done
expect "--quant-kernels names the variant it ran" contains "$work/out" "quantized scalar"
"$infer" "$work/vit_q8.attnmodel" --verify --quant-kernels nonesuch 2>"$work/err"
expect "an unknown --quant-kernels exits 1" test $? -eq 1
expect "an unknown --quant-kernels lists the variants there are" contains "$work/err" "there are: scalar"
"$convert" "$fx/vit-super-mean" -o "$work/vit_q9.attnmodel" --weights q9 2>"$work/err"
expect "an unknown --weights is a usage error" test $? -eq 2
"$infer" "$work/vit.attnmodel" --verify 2>"$work/err"
expect "--verify without samples exits 1" test $? -eq 1
expect "--verify without samples says so" contains "$work/err" "has no embedded samples"
# Flip the sign of the last non-zero weight (the head's last bias) in the data section.
"$py" -c "
b = bytearray(open('$work/vit_s.attnmodel', 'rb').read())
i = max(k for k in range(len(b)) if b[k])
b[i] ^= 0x80
open('$work/vit_bad.attnmodel', 'wb').write(b)"
"$infer" "$work/vit_bad.attnmodel" --verify >"$work/out" 2>"$work/err"
expect "--verify fails on altered weights" test $? -eq 1
expect "--verify names the failure" contains "$work/err" "FAILED"
"$convert" --random-init "$fx/gpt-super/config.json" -o "$work/gpt_s.attnmodel" -q \
  --embed-sample "$fx/gpt-super/inputs.npy" --embed-count 1
"$infer" "$work/gpt_s.attnmodel" --verify -q
expect "--verify passes on a random-init gpt model" test $? -eq 0
"$convert" "$fx/vit-super-mean" -o "$work/vit_e.attnmodel" --embed-sample "$fx/vit-super-mean/inputs.npy" \
  --embed-expected "$fx/vit-super-mean/expected.npy" -q
"$infer" "$work/vit_e.attnmodel" --verify -q
expect "--embed-expected outputs verify" test $? -eq 0
"$convert" "$fx/vit-super-mean" -o "$work/vit_x.attnmodel" --embed-sample "$fx/hf-gpt2-tiny/inputs.npy" 2>"$work/err"
expect "--embed-sample of the wrong inputs exits non-zero" test $? -ne 0
expect "--embed-sample names the item" contains "$work/err" "inputs.npy: item 0"
expect "no output after a sample error" test ! -e "$work/vit_x.attnmodel"

# --incremental: every position's logits through the decode cache equal the
# full-sequence run's within the spec's tolerance, for each gpt variant.
for fixture in gpt-standard-fused gpt-optimized-lmhead gpt-efficient gpt-super-conv1d hf-gpt2-tiny; do
  "$convert" "$fx/$fixture" -o "$work/inc.attnmodel" -q
  "$infer" "$work/inc.attnmodel" -i "$fx/$fixture/inputs.npy" -o "$work/inc.npy" --incremental -q
  expect "--incremental reproduces the reference for $fixture" "$py" -c "
import numpy as np, sys
y = np.load('$work/inc.npy'); r = np.load('$fx/$fixture/expected.npy')
sys.exit(0 if y.shape == r.shape and np.abs(y - r).max() <= 1e-4 * max(1, np.abs(r).max()) else 1)"
done
"$infer" "$work/timm.attnmodel" -i "$fx/timm-vit-tiny/inputs.npy" --incremental -q 2>"$work/err"
expect "--incremental refuses a vit model" contains "$work/err" "causal"
"$infer" "$work/gpt2.attnmodel" --bench --tokens 8 --decode 8 --iters 3 --json -q >"$work/gen.json"
expect "--bench on a gpt model reports prefill and decode tokens/s" "$py" -c "
import json, sys
j = json.load(open('$work/gen.json'))
g = j['generation'][0]; c = j['decode_curve']
sys.exit(0 if g['prefill_tokens'] == 8 and g['decode_tokens'] == 8 and g['decode_tokens_per_s'] > 0
         and len(c) == 8 and j['cache_bytes_per_token'] == 2 * 2 * 32 * 4 else 1)"

# The tools' shared conventions: --version, --key=value, exit codes 0/1/2 and
# a one-line usage error with a hint.
for tool in "$convert" "$infer"; do
  name=$(basename "$tool")
  "$tool" --version >"$work/out"
  expect "$name --version exits 0" test $? -eq 0
  expect "$name --version names the project's version and the commit" contains "$work/out" "(attn $version, commit "
  expect "$name --version names the kernel paths" contains "$work/out" "kernel paths "
  "$tool" --no-such-flag >"$work/out" 2>"$work/err"
  expect "$name: a wrong flag exits 2" test $? -eq 2
  expect "$name: a wrong flag is one line" test "$(wc -l <"$work/err")" -eq 1
  expect "$name: a wrong flag's hint" contains "$work/err" "see '$name --help'"
  "$tool" --help >"$work/out"
  expect "$name --help exits 0" test $? -eq 0
done
"$generate" --version >"$work/out"
expect "attn-generate --version exits 0" test $? -eq 0
expect "attn-generate --version names the project's version" contains "$work/out" "(attn $version, commit "
"$infer" "$work/gpt2.attnmodel" --input="$fx/hf-gpt2-tiny/inputs.npy" --output="$work/kv.npy" -q
expect "--key=value works" cmp -s "$work/gpt2.npy" "$work/kv.npy"
"$infer" "$work/gpt2.attnmodel" --bench --iters=0 2>"$work/err"
expect "an out-of-range value exits 2" test $? -eq 2
"$infer" "$work/gpt2.attnmodel" --rounds 3 2>"$work/err"
expect "a misplaced flag exits 2" test $? -eq 2
expect "a misplaced flag says where it goes" contains "$work/err" "--rounds goes with --compare"
"$infer" "$work/missing.attnmodel" 2>"$work/err"
expect "a failing run exits 1" test $? -eq 1
"$convert" "$fx/vit-super-mean" 2>"$work/err"
expect "attn-convert without -o exits 2" test $? -eq 2
expect "attn-convert without -o says so" contains "$work/err" "-o FILE is missing"
"$infer" 2>"$work/err"
expect "attn-infer without a model exits 2" test $? -eq 2

echo "cli: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
