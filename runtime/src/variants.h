// The attention variants as data (docs/spec.md): for each, which projections
// its stacked input weight holds, where its keys and values come from, and so
// what the decode cache keeps. The loader, the session, the converter, the
// float64 reference and the bench read this table; a new variant is a row
// here, its value in the schema's AttentionVariant enum, and whatever new
// row source it brings (docs/architecture.md).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace attn {

// In the order of the schema's AttentionVariant values.
enum class Variant { Standard = 0, Optimized = 1, Efficient = 2, Super = 3 };

// Where an attention's key or value rows come from.
enum class RowSource {
  Input,            // the layer input X itself (no projection)
  KeyProjection,    // X·W_Kᵀ: the second block of the stacked projection
  ValueProjection,  // X·W_Vᵀ: the third block
  Mixed,            // W_A·X + b_A, Super's learned token mixing
};

struct VariantTraits {
  Variant variant;
  const char* name;  // as config.json's "attention" and the tools spell it
  RowSource keys, values;
  // Blocks of d rows in the stacked input projection: Q, then K and V where
  // they are projections.
  int projections() const { return 1 + (keys == RowSource::KeyProjection) + (values == RowSource::ValueProjection); }
  // W_A [L, L] (and b_A [L] when the config has it).
  bool token_mixing() const { return values == RowSource::Mixed; }
  // The decode cache keeps one copy where keys and values are the same rows.
  bool values_are_keys() const { return keys == values; }
  // The offset, in blocks of d, of a projected source within a row of the
  // stacked projection (Q is block 0).
  static size_t block_of(RowSource s) { return s == RowSource::KeyProjection ? 1 : 2; }
};

inline constexpr VariantTraits kVariants[] = {
    {Variant::Standard, "standard", RowSource::KeyProjection, RowSource::ValueProjection},
    {Variant::Optimized, "optimized", RowSource::KeyProjection, RowSource::Input},
    {Variant::Efficient, "efficient", RowSource::Input, RowSource::Input},
    {Variant::Super, "super", RowSource::Input, RowSource::Mixed},
};
inline constexpr size_t kVariantCount = sizeof kVariants / sizeof kVariants[0];

constexpr bool table_is_consistent() {
  for (size_t i = 0; i < kVariantCount; ++i) {
    if (size_t(kVariants[i].variant) != i) return false;  // rows in the enum's order
    // Cached decoding mixes values from the cached keys: they must be X.
    if (kVariants[i].values == RowSource::Mixed && kVariants[i].keys != RowSource::Input) return false;
    if (kVariants[i].keys == RowSource::ValueProjection || kVariants[i].keys == RowSource::Mixed) return false;
  }
  return true;
}
static_assert(table_is_consistent(), "kVariants: rows out of order, or a combination the session cannot run");

inline const VariantTraits& traits_of(Variant v) { return kVariants[size_t(v)]; }

// The variant with a schema value, or null for a value outside the table.
inline const VariantTraits* variant_with_value(int64_t value) {
  return value >= 0 && uint64_t(value) < kVariantCount ? &kVariants[value] : nullptr;
}

// The variant named `name`, or null.
inline const VariantTraits* variant_named(const std::string& name) {
  for (const VariantTraits& t : kVariants)
    if (name == t.name) return &t;
  return nullptr;
}

}  // namespace attn
