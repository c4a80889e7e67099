#include "tokenizer_import.h"

#include <sys/stat.h>

#include <map>
#include <nlohmann/json.hpp>

#include "error.h"
#include "safetensors.h"
#include "tokenizer/bpe.h"

namespace attn::convert {
namespace {

using nlohmann::json;

bool exists(const std::string& path, bool dir) {
  struct stat st;
  return stat(path.c_str(), &st) == 0 && (dir ? S_ISDIR(st.st_mode) : S_ISREG(st.st_mode));
}

json parse_json(const std::string& path) {
  const std::vector<uint8_t> bytes = read_file(path);
  try {
    return json::parse(bytes.begin(), bytes.end(), nullptr, true, false);
  } catch (const json::exception& e) {
    throw InputError(path + ": not valid JSON: " + e.what());
  }
}

// A vocabulary string spells bytes through GPT-2's byte-to-unicode map; a
// string with a character outside it (an added token) stands for its own UTF-8.
std::string token_bytes(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size();) {
    const uint8_t b0 = uint8_t(s[i]);
    const size_t n = b0 < 0x80 ? 1 : (b0 >> 5) == 6 ? 2 : (b0 >> 4) == 14 ? 3 : 4;
    uint32_t cp = n == 1 ? b0 : n == 2 ? (b0 & 0x1F) : n == 3 ? (b0 & 0x0F) : (b0 & 0x07);
    for (size_t k = 1; k < n && i + k < s.size(); ++k) cp = (cp << 6) | (uint8_t(s[i + k]) & 0x3F);
    const int byte = text::unicode_to_byte(cp);
    if (byte < 0) return s;
    out.push_back(char(byte));
    i += n;
  }
  return out;
}

TokenizerData assemble(const json& vocab, const std::vector<std::pair<std::string, std::string>>& merges,
                       const std::map<int64_t, std::string>& added, const std::string& where) {
  if (!vocab.is_object()) throw InputError(where + ": the vocabulary is not an object of token -> id");
  if (vocab.size() + added.size() > text::kMaxTokens)
    throw InputError(where + ": " + std::to_string(vocab.size()) + " tokens, more than " + std::to_string(text::kMaxTokens));
  std::map<int64_t, std::string> by_id = added;
  std::map<std::string, int32_t> ids;
  for (auto it = vocab.begin(); it != vocab.end(); ++it) {
    if (!it.value().is_number_integer()) throw InputError(where + ": the id of token '" + it.key() + "' is not an integer");
    const int64_t id = it.value().get<int64_t>();
    if (id < 0 || id >= int64_t(text::kMaxTokens)) throw InputError(where + ": token '" + it.key() + "' has id " + std::to_string(id));
    if (!by_id.emplace(id, it.key()).second && by_id[id] != it.key())
      throw InputError(where + ": id " + std::to_string(id) + " is given to '" + by_id[id] + "' and '" + it.key() + "'");
    ids[it.key()] = int32_t(id);
  }
  for (const auto& [id, s] : added) ids[s] = int32_t(id);
  TokenizerData out;
  for (const auto& [id, s] : by_id) {
    if (id != int64_t(out.tokens.size())) throw InputError(where + ": no token has id " + std::to_string(out.tokens.size()));
    out.tokens.push_back(token_bytes(s));
    if (s == "<|endoftext|>") out.eos_id = int32_t(id);
  }
  for (size_t r = 0; r < merges.size(); ++r) {
    const auto a = ids.find(merges[r].first), b = ids.find(merges[r].second);
    if (a == ids.end() || b == ids.end())
      throw InputError(where + ": merge " + std::to_string(r) + " ('" + merges[r].first + " " + merges[r].second + "') names a token not in the vocabulary");
    out.merges.emplace_back(a->second, b->second);
  }
  try {
    text::Bpe check(out.tokens, out.merges, out.eos_id);  // the loader's own checks, now rather than at load
  } catch (const Error& e) {
    throw InputError(where + ": " + e.what());
  }
  return out;
}

std::pair<std::string, std::string> split_merge(const std::string& line, const std::string& where) {
  const size_t space = line.find(' ');
  if (space == std::string::npos || space == 0 || space + 1 >= line.size() || line.find(' ', space + 1) != std::string::npos)
    throw InputError(where + ": '" + line.substr(0, 80) + "' is not two tokens separated by one space");
  return {line.substr(0, space), line.substr(space + 1)};
}

TokenizerData read_hf_json(const std::string& path) {
  const json j = parse_json(path);
  if (!j.is_object() || !j.contains("model") || !j["model"].is_object()) throw InputError(path + ": no \"model\" object");
  const json& model = j["model"];
  if (model.value("type", std::string("BPE")) != "BPE") throw InputError(path + ": model.type is not \"BPE\"");
  if (j.contains("pre_tokenizer") && j["pre_tokenizer"].is_object() && j["pre_tokenizer"].value("type", "") != "ByteLevel")
    throw InputError(path + ": pre_tokenizer.type is not \"ByteLevel\": only GPT-2's byte-level BPE is supported");
  if (!model.contains("vocab") || !model.contains("merges") || !model["merges"].is_array())
    throw InputError(path + ": model.vocab or model.merges is missing");
  std::vector<std::pair<std::string, std::string>> merges;
  size_t r = 0;
  for (const json& m : model["merges"]) {
    const std::string where = path + ": model.merges[" + std::to_string(r++) + "]";
    if (m.is_string()) merges.push_back(split_merge(m.get<std::string>(), where));
    else if (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string()) merges.emplace_back(m[0], m[1]);
    else throw InputError(where + " is neither \"a b\" nor [\"a\", \"b\"]");
  }
  std::map<int64_t, std::string> added;
  if (j.contains("added_tokens") && j["added_tokens"].is_array())
    for (const json& t : j["added_tokens"]) {
      if (!t.is_object() || !t.contains("id") || !t["id"].is_number_integer() || !t.contains("content") || !t["content"].is_string())
        throw InputError(path + ": an added_tokens entry lacks an integer id or a string content");
      added[t["id"].get<int64_t>()] = t["content"].get<std::string>();
    }
  return assemble(model["vocab"], merges, added, path);
}

TokenizerData read_vocab_merges(const std::string& vocab_path, const std::string& merges_path) {
  const json vocab = parse_json(vocab_path);
  const std::vector<uint8_t> bytes = read_file(merges_path);
  std::vector<std::pair<std::string, std::string>> merges;
  size_t line_no = 0;
  for (size_t i = 0; i < bytes.size();) {
    size_t end = i;
    while (end < bytes.size() && bytes[end] != '\n') ++end;
    std::string line(bytes.begin() + std::ptrdiff_t(i), bytes.begin() + std::ptrdiff_t(end));
    if (!line.empty() && line.back() == '\r') line.pop_back();
    ++line_no;
    i = end + 1;
    if (line.empty() || (line_no == 1 && line.rfind("#version", 0) == 0)) continue;
    merges.push_back(split_merge(line, merges_path + ": line " + std::to_string(line_no)));
    if (merges.size() > text::kMaxMerges) throw InputError(merges_path + ": more than " + std::to_string(text::kMaxMerges) + " merges");
  }
  return assemble(vocab, merges, {}, vocab_path + " + " + merges_path);
}

std::string sibling(const std::string& path, const std::string& name) {
  const size_t slash = path.rfind('/');
  return (slash == std::string::npos ? std::string() : path.substr(0, slash + 1)) + name;
}

}  // namespace

std::string find_tokenizer(const std::string& dir) {
  for (const char* name : {"tokenizer.json", "vocab.json", "encoder.json"})
    if (exists(dir + "/" + name, false)) return dir + "/" + name;
  return "";
}

TokenizerData read_tokenizer(const std::string& path) {
  std::string file = path;
  if (exists(path, true)) {
    file = find_tokenizer(path);
    if (file.empty()) throw InputError(path + ": holds no tokenizer.json, vocab.json or encoder.json");
  }
  const std::string name = file.substr(file.rfind('/') == std::string::npos ? 0 : file.rfind('/') + 1);
  if (name == "vocab.json") return read_vocab_merges(file, sibling(file, "merges.txt"));
  if (name == "encoder.json") return read_vocab_merges(file, sibling(file, "vocab.bpe"));
  return read_hf_json(file);
}

}  // namespace attn::convert
