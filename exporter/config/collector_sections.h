// The sections of `analytics:` that a collector owns. Such a collector declares its config
// struct next to itself (exporter/collectors/<name>.h), writes its reader there too, and lists
// the reader in registry.cc next to its factory; the loader calls every listed reader on the
// `analytics:` mapping and keeps what they read here, type-erased. A new collector's settings
// then touch neither analytics_config.h nor the loader, and still get the loader's
// file:line:column errors, its unknown-key check (`--config.check`) and reload equality.
// CollectorSections is a plain value: the configs it holds are immutable and shared by copies.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <typeinfo>

namespace outcomes {

class MapReader;

class CollectorSections {
 public:
  // The section `key`, or nullptr when the file does not have it.
  template <typename T>
  const T* Find(std::string_view key) const {
    const auto it = sections_.find(key);
    if (it == sections_.end()) return nullptr;
    const auto* held = dynamic_cast<const Held<T>*>(it->second.get());
    return held == nullptr ? nullptr : &held->value;
  }
  template <typename T>
  void Set(std::string key, T value) {
    sections_[std::move(key)] = std::make_shared<const Held<T>>(std::move(value));
  }
  bool empty() const { return sections_.empty(); }

  // Same keys, and per key the same type and an equal value (the struct's operator==).
  bool operator==(const CollectorSections& other) const;

 private:
  struct AnyHeld {
    AnyHeld() = default;
    AnyHeld(const AnyHeld&) = delete;
    AnyHeld& operator=(const AnyHeld&) = delete;
    AnyHeld(AnyHeld&&) = delete;
    AnyHeld& operator=(AnyHeld&&) = delete;
    virtual ~AnyHeld() = default;
    virtual bool Equals(const AnyHeld& other) const = 0;
  };
  template <typename T>
  struct Held final : AnyHeld {
    explicit Held(T held) : value(std::move(held)) {}
    bool Equals(const AnyHeld& other) const override {
      const auto* same = dynamic_cast<const Held*>(&other);
      return same != nullptr && same->value == value;
    }
    const T value;
  };

  std::map<std::string, std::shared_ptr<const AnyHeld>, std::less<>> sections_;
};

// The reader of one collector-owned section, `analytics.<key>`.
struct CollectorSectionReader {
  const char* key;
  // Reads the fields of the section's mapping (reporting into the file's ErrorList, at the
  // place of each bad value) and sets the result in `out` under `key`. Called only when the
  // file has the key; the caller then rejects the keys it did not ask for.
  void (*read)(MapReader& section, const std::string& key, CollectorSections& out);
};

// The usual `read`: ReadSection<TableSizesConfig, &ReadTableSizes>, where the collector's
// `TableSizesConfig ReadTableSizes(MapReader& section)` reads and validates its fields.
template <typename T, T (*Read)(MapReader& section)>
void ReadSection(MapReader& section, const std::string& key, CollectorSections& out) {
  out.Set(key, Read(section));
}

// Calls every reader of `readers` whose key `analytics` has, so that those keys count as known
// and unknown keys inside them are reported.
CollectorSections ReadCollectorSections(MapReader& analytics,
                                        std::span<const CollectorSectionReader> readers);

// The table of every collector-owned section's reader; defined in collectors/registry.cc,
// next to the table of factories, so that one file lists what each collector adds.
std::span<const CollectorSectionReader> CollectorSectionReaders();

}  // namespace outcomes
