#include "strict_json.h"

#include <set>
#include <vector>

#include "safetensors.h"

namespace attn::convert {

namespace {

using json = nlohmann::json;

// A first pass over the text that only looks at keys: one set of keys per
// open object. (nlohmann's parser callback cannot be used for this: on each
// inner object's end it scans the enclosing object, which is quadratic.)
class DuplicateKeyFinder : public json::json_sax_t {
 public:
  std::string duplicate;

  bool null() override { return true; }
  bool boolean(bool) override { return true; }
  bool number_integer(number_integer_t) override { return true; }
  bool number_unsigned(number_unsigned_t) override { return true; }
  bool number_float(number_float_t, const string_t&) override { return true; }
  bool string(string_t&) override { return true; }
  bool binary(binary_t&) override { return true; }
  bool start_object(std::size_t) override {
    open_.emplace_back();
    return true;
  }
  bool key(string_t& k) override {
    if (!open_.empty() && !open_.back().insert(k).second) {
      duplicate = k;
      return false;  // stop: the error names this key
    }
    return true;
  }
  bool end_object() override {
    if (!open_.empty()) open_.pop_back();
    return true;
  }
  bool start_array(std::size_t) override { return true; }
  bool end_array() override { return true; }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) override { return false; }

 private:
  std::vector<std::set<std::string>> open_;
};

}  // namespace

json parse_strict_json(const char* begin, const char* end, const std::string& source) {
  DuplicateKeyFinder finder;
  const bool well_formed = json::sax_parse(begin, end, &finder);
  if (!finder.duplicate.empty()) {
    std::string shown;
    for (char c : finder.duplicate.substr(0, 80)) shown += (c >= 0x20 && c < 0x7f) ? c : '?';
    throw InputError(source + ": the key '" + shown + "' appears twice in one object");
  }
  json j;
  try {
    j = json::parse(begin, end);
  } catch (const json::exception& e) {
    throw InputError(source + ": not valid JSON: " + e.what());
  }
  if (!well_formed) throw InputError(source + ": not valid JSON");
  return j;
}

}  // namespace attn::convert
