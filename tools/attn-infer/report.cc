#include "report.h"

#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cli.h"

namespace attn::infer {

namespace {

using Json = nlohmann::ordered_json;

std::string printf_string(const char* format, double x) {
  char buf[64];
  std::snprintf(buf, sizeof buf, format, x);
  return buf;
}

// Six significant digits are plenty for timings, and keep the JSON short.
Json number(double x) {
  if (!std::isfinite(x)) return nullptr;
  return std::stod(printf_string("%.6g", x));
}

// Milliseconds with about four significant digits.
std::string ms(double x) {
  return printf_string(x < 0.1 ? "%.4f" : x < 10 ? "%.3f" : x < 1000 ? "%.2f" : "%.1f", x);
}

std::string percent(double share) { return printf_string("%.1f%%", 100 * share); }

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string q = "\"";
  for (char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c);
  return q + "\"";
}

std::string pad_left(const std::string& s, size_t width) {
  return s.size() >= width ? s : std::string(width - s.size(), ' ') + s;
}
std::string pad_right(const std::string& s, size_t width) {
  return s.size() >= width ? s : s + std::string(width - s.size(), ' ');
}

// A table with right-aligned columns but the first `left` ones.
std::string text_table(const std::vector<std::vector<std::string>>& rows, size_t left) {
  std::vector<size_t> width;
  for (const auto& row : rows)
    for (size_t c = 0; c < row.size(); ++c) {
      if (width.size() <= c) width.push_back(0);
      width[c] = std::max(width[c], row[c].size());
    }
  std::string out;
  for (const auto& row : rows) {
    std::string line;
    for (size_t c = 0; c < row.size(); ++c)
      line += (c ? "  " : "") + (c < left ? pad_right(row[c], width[c]) : pad_left(row[c], width[c]));
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line + "\n";
  }
  return out;
}

std::string markdown_table(const std::vector<std::vector<std::string>>& rows, size_t left) {
  std::string out;
  for (size_t r = 0; r < rows.size(); ++r) {
    out += "|";
    for (const auto& cell : rows[r]) out += " " + cell + " |";
    out += "\n";
    if (r == 0) {
      out += "|";
      for (size_t c = 0; c < rows[r].size(); ++c) out += c < left ? "---|" : "---:|";
      out += "\n";
    }
  }
  return out;
}

// Which attn made an output, and when: every format carries it.
struct Provenance {
  std::string version = attn_version(), commit = cli::commit(), date = cli::utc_now();
  std::string line() const { return "attn " + version + ", commit " + commit + ", " + date; }
};

void add_provenance(Json& j, const Provenance& p) {
  j["attn_version"] = p.version;
  j["commit"] = p.commit;
  j["date"] = p.date;
}

std::string threads_text(uint32_t t) { return std::to_string(t) + (t == 1 ? " thread" : " threads"); }

std::vector<std::vector<std::string>> bench_rows(const BenchReport& r) {
  std::vector<std::vector<std::string>> rows = {
      {"threads", "runs", "min ms", "p50 ms", "p90 ms", "p99 ms", "mean ms", "stddev ms", "runs/s", "peak RSS MiB"}};
  for (const ThreadResult& t : r.results)
    rows.push_back({std::to_string(t.threads), std::to_string(t.ms.count), ms(t.ms.min), ms(t.ms.p50), ms(t.ms.p90),
                    ms(t.ms.p99), ms(t.ms.mean), ms(t.ms.stddev), printf_string("%.1f", t.runs_per_s),
                    printf_string("%.1f", t.peak_rss_mib)});
  return rows;
}

std::vector<std::vector<std::string>> profile_rows(const BenchReport& r) {
  std::vector<std::vector<std::string>> rows = {{"operator class", "share"}};
  for (int c = 0; c < ATTN_OP_CLASS_COUNT; ++c)
    rows.push_back({attn_op_class_name(attn_op_class(c)), percent(r.profile[size_t(c)])});
  return rows;
}

std::string profile_caption(const BenchReport& r) {
  return "profile: " + threads_text(r.profile_threads) + ", " + std::to_string(r.profile_runs) +
         " runs; shares of the operators' time, which is " + percent(r.profile_coverage) + " of the run time";
}

std::vector<std::vector<std::string>> generation_rows(const BenchReport& r) {
  std::vector<std::vector<std::string>> rows = {{"threads", "prefill tokens", "prefill tokens/s", "decode after",
                                                 "decode tokens", "decode tokens/s"}};
  for (const GenerationResult& g : r.generation)
    rows.push_back({std::to_string(g.threads), std::to_string(r.tokens), printf_string("%.0f", g.prefill_tokens_per_s),
                    std::to_string(g.decode_after), std::to_string(g.decode_tokens),
                    printf_string("%.0f", g.decode_tokens_per_s)});
  return rows;
}

std::vector<std::vector<std::string>> decode_curve_rows(const BenchReport& r) {
  std::vector<std::vector<std::string>> rows = {{"position", "decode us/token"}};
  for (const DecodePoint& p : r.decode_curve)
    rows.push_back({std::to_string(p.position), printf_string("%.1f", p.us_per_token)});
  return rows;
}

std::string generation_caption(const BenchReport& r) {
  return "generation through the decode cache (" + std::to_string(r.cache_bytes_per_token) +
         " bytes per token); decode cost by position, " + threads_text(r.results.front().threads);
}

std::string tokens_text(const BenchReport& r) {
  return r.tokens >= 0 ? ", " + std::to_string(r.tokens) + " tokens" : "";
}

std::string bench_json(const BenchReport& r) {
  Json j;
  add_provenance(j, Provenance());
  j["model"] = r.model;
  j["family"] = r.family;
  j["attention"] = r.attention;
  j["kernel_path"] = r.kernel_path;
  j["cpu"] = r.cpu;
  j["build_type"] = r.build_type;
  j["input"] = r.input;
  j["load_ms"] = number(r.load_ms);
  j["prepare_ms"] = number(r.prepare_ms);
  j["first_run_ms"] = number(r.first_run_ms);
  j["tokens"] = r.tokens >= 0 ? Json(r.tokens) : Json(nullptr);
  j["results"] = Json::array();
  for (const ThreadResult& t : r.results)
    j["results"].push_back({{"threads", t.threads},
                            {"iters", t.ms.count},
                            {"min_ms", number(t.ms.min)},
                            {"p50_ms", number(t.ms.p50)},
                            {"p90_ms", number(t.ms.p90)},
                            {"p99_ms", number(t.ms.p99)},
                            {"mean_ms", number(t.ms.mean)},
                            {"stddev_ms", number(t.ms.stddev)},
                            {"runs_per_s", number(t.runs_per_s)},
                            {"peak_rss_mib", number(t.peak_rss_mib)}});
  if (!r.generation.empty()) {
    j["cache_bytes_per_token"] = r.cache_bytes_per_token;
    j["generation"] = Json::array();
    for (const GenerationResult& g : r.generation)
      j["generation"].push_back({{"threads", g.threads},
                                 {"prefill_tokens", r.tokens},
                                 {"prefill_tokens_per_s", number(g.prefill_tokens_per_s)},
                                 {"decode_after", g.decode_after},
                                 {"decode_tokens", g.decode_tokens},
                                 {"decode_tokens_per_s", number(g.decode_tokens_per_s)}});
    j["decode_curve"] = Json::array();
    for (const DecodePoint& p : r.decode_curve)
      j["decode_curve"].push_back({{"position", p.position}, {"us_per_token", number(p.us_per_token)}});
  }
  if (r.has_profile) {
    Json p = Json::object();
    for (int c = 0; c < ATTN_OP_CLASS_COUNT; ++c) p[attn_op_class_name(attn_op_class(c))] = number(r.profile[size_t(c)]);
    j["profile"] = p;
  } else {
    j["profile"] = nullptr;
  }
  return j.dump(2) + "\n";
}

// One row per thread count, carrying what the JSON does: the profile and the
// decode curve ("position:us_per_token" pairs) belong to the first row.
std::string bench_csv(const BenchReport& r) {
  const Provenance p;
  std::string out =
      "attn_version,commit,date,model,family,attention,kernel_path,cpu,build_type,input,load_ms,prepare_ms,"
      "first_run_ms,tokens,threads,iters,min_ms,p50_ms,p90_ms,p99_ms,mean_ms,stddev_ms,runs_per_s,peak_rss_mib";
  for (int c = 0; c < ATTN_OP_CLASS_COUNT; ++c) out += std::string(",share_") + attn_op_class_name(attn_op_class(c));
  out += ",cache_bytes_per_token,prefill_tokens,prefill_tokens_per_s,decode_after,decode_tokens,decode_tokens_per_s,"
         "decode_curve\n";
  auto g = [](double x) { return printf_string("%.6g", x); };
  for (size_t k = 0; k < r.results.size(); ++k) {
    const ThreadResult& t = r.results[k];
    out += csv_field(p.version) + "," + csv_field(p.commit) + "," + p.date + "," + csv_field(r.model) + "," +
           csv_field(r.family) + "," + csv_field(r.attention) + "," + csv_field(r.kernel_path) + "," +
           csv_field(r.cpu) + "," + csv_field(r.build_type) + "," + csv_field(r.input) + "," + g(r.load_ms) + "," +
           g(r.prepare_ms) + "," + g(r.first_run_ms) + "," + (r.tokens >= 0 ? std::to_string(r.tokens) : "") + "," +
           std::to_string(t.threads) + "," + std::to_string(t.ms.count) + "," + g(t.ms.min) + "," + g(t.ms.p50) +
           "," + g(t.ms.p90) + "," + g(t.ms.p99) + "," + g(t.ms.mean) + "," + g(t.ms.stddev) + "," + g(t.runs_per_s) +
           "," + g(t.peak_rss_mib);
    for (int c = 0; c < ATTN_OP_CLASS_COUNT; ++c) out += "," + (r.has_profile && k == 0 ? g(r.profile[size_t(c)]) : "");
    if (k < r.generation.size()) {
      const GenerationResult& gen = r.generation[k];
      out += "," + std::to_string(r.cache_bytes_per_token) + "," + std::to_string(r.tokens) + "," +
             g(gen.prefill_tokens_per_s) + "," + std::to_string(gen.decode_after) + "," +
             std::to_string(gen.decode_tokens) + "," + g(gen.decode_tokens_per_s) + ",";
      if (k == 0)
        for (size_t i = 0; i < r.decode_curve.size(); ++i)
          out += (i ? " " : "") + std::to_string(r.decode_curve[i].position) + ":" + g(r.decode_curve[i].us_per_token);
    } else {
      out += ",,,,,,";
    }
    out += "\n";
  }
  return out;
}

std::string bench_table(const BenchReport& r) {
  std::string out;
  out += "model      " + r.model + " (" + r.family + ", " + r.attention + " attention)\n";
  out += "input      " + r.input + tokens_text(r) + "\n";
  out += "kernels    " + r.kernel_path + "\n";
  out += "cpu        " + r.cpu + "\n";
  out += "build      " + r.build_type + "\n";
  out += "attn       " + Provenance().line() + "\n";
  out += "load       " + ms(r.load_ms) + " ms (map + verify)\n";
  out += "prepare    " + ms(r.prepare_ms) + " ms (plan + weight packing)\n";
  out += "first run  " + ms(r.first_run_ms) + " ms\n\n";
  out += text_table(bench_rows(r), 0);
  if (!r.generation.empty())
    out += "\n" + text_table(generation_rows(r), 0) + "\n" + generation_caption(r) + "\n" +
           text_table(decode_curve_rows(r), 0);
  if (r.has_profile) out += "\n" + profile_caption(r) + "\n" + text_table(profile_rows(r), 1);
  return out;
}

std::string bench_markdown(const BenchReport& r) {
  std::string out;
  out += "**" + r.model + "**: " + r.family + ", " + r.attention + " attention; " + r.kernel_path + " kernels; " + r.cpu +
         "; " + r.build_type + " build; input " + r.input + tokens_text(r) + "; " + Provenance().line() + "\n\n";
  out += "load " + ms(r.load_ms) + " ms, prepare " + ms(r.prepare_ms) + " ms, first run " + ms(r.first_run_ms) + " ms\n\n";
  out += markdown_table(bench_rows(r), 0);
  if (!r.generation.empty())
    out += "\n" + markdown_table(generation_rows(r), 0) + "\n" + generation_caption(r) + "\n\n" +
           markdown_table(decode_curve_rows(r), 0);
  if (r.has_profile) out += "\n" + profile_caption(r) + "\n\n" + markdown_table(profile_rows(r), 1);
  return out;
}

std::vector<std::vector<std::string>> compare_rows(const CompareReport& r) {
  std::vector<std::vector<std::string>> rows = {{"model", "attention", "p50 ms", "ratio", "95% CI", "runs"}};
  for (size_t i = 0; i < r.entries.size(); ++i) {
    const CompareEntry& e = r.entries[i];
    rows.push_back({e.model, e.attention, ms(e.p50_ms), printf_string("%.3f", e.ratio),
                    i == 0 ? "(reference)"
                           : "[" + printf_string("%.3f", e.ratio_ci_low) + ", " + printf_string("%.3f", e.ratio_ci_high) + "]",
                    std::to_string(e.runs)});
  }
  return rows;
}

std::string compare_header(const CompareReport& r) {
  return "compare    " + std::to_string(r.entries.size()) + " models, " + std::to_string(r.rounds) +
         " rounds (a new random order each round), " + threads_text(r.threads) + "\n" +
         "input      " + r.input + "\n" +
         "kernels    " + r.kernel_path + "\n" +
         "cpu        " + r.cpu + "\n" +
         "build      " + r.build_type + "\n" +
         "attn       " + Provenance().line() + "\n";
}

const char* kRatioNote =
    "ratio: the median over rounds of the model's p50 in a round over the first model's in the same round, "
    "with a 95% bootstrap interval over rounds\n";

}  // namespace

std::string format_bench(const BenchReport& r, Format f) {
  switch (f) {
    case Format::Json: return bench_json(r);
    case Format::Csv: return bench_csv(r);
    case Format::Markdown: return bench_markdown(r);
    case Format::Table: break;
  }
  return bench_table(r);
}

std::string format_compare(const CompareReport& r, Format f) {
  if (f == Format::Json) {
    Json j;
    add_provenance(j, Provenance());
    j["kernel_path"] = r.kernel_path;
    j["cpu"] = r.cpu;
    j["build_type"] = r.build_type;
    j["input"] = r.input;
    j["compare"] = Json::array();
    for (const CompareEntry& e : r.entries)
      j["compare"].push_back({{"model", e.model},
                              {"attention", e.attention},
                              {"p50_ms", number(e.p50_ms)},
                              {"ratio", number(e.ratio)},
                              {"ratio_ci_low", number(e.ratio_ci_low)},
                              {"ratio_ci_high", number(e.ratio_ci_high)},
                              {"runs", e.runs}});
    j["threads"] = r.threads;
    j["rounds"] = r.rounds;
    return j.dump(2) + "\n";
  }
  if (f == Format::Csv) {
    const Provenance p;
    std::string out =
        "attn_version,commit,date,kernel_path,cpu,build_type,input,model,attention,threads,rounds,runs,p50_ms,ratio,"
        "ratio_ci_low,ratio_ci_high\n";
    auto g = [](double x) { return printf_string("%.6g", x); };
    for (const CompareEntry& e : r.entries)
      out += csv_field(p.version) + "," + csv_field(p.commit) + "," + p.date + "," + csv_field(r.kernel_path) + "," +
             csv_field(r.cpu) + "," + csv_field(r.build_type) + "," + csv_field(r.input) + "," + csv_field(e.model) + "," + csv_field(e.attention) + "," + std::to_string(r.threads) + "," +
             std::to_string(r.rounds) + "," + std::to_string(e.runs) + "," + g(e.p50_ms) + "," + g(e.ratio) + "," +
             g(e.ratio_ci_low) + "," + g(e.ratio_ci_high) + "\n";
    return out;
  }
  if (f == Format::Markdown)
    return std::to_string(r.entries.size()) + " models interleaved in " + std::to_string(r.rounds) + " rounds, " +
           threads_text(r.threads) + "; " + r.kernel_path + " kernels; " + r.cpu + "; " + r.build_type +
           " build; input " + r.input + "; " + Provenance().line() + "\n\n" + markdown_table(compare_rows(r), 2) + "\n" + kRatioNote;
  return compare_header(r) + "\n" + text_table(compare_rows(r), 2) + "\n" + kRatioNote;
}

}  // namespace attn::infer
