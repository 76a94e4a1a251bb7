#include "exporter/config/collector_sections.h"

#include <algorithm>

#include "exporter/config/yaml_reader.h"

namespace outcomes {

bool CollectorSections::operator==(const CollectorSections& other) const {
  return std::equal(sections_.begin(), sections_.end(), other.sections_.begin(),
                    other.sections_.end(), [](const auto& mine, const auto& theirs) {
                      return mine.first == theirs.first && mine.second->Equals(*theirs.second);
                    });
}

CollectorSections ReadCollectorSections(MapReader& analytics,
                                        std::span<const CollectorSectionReader> readers) {
  CollectorSections sections;
  for (const CollectorSectionReader& reader : readers) {
    std::optional<MapReader> section = analytics.Nested(reader.key);
    if (!section) continue;
    reader.read(*section, reader.key, sections);
    section->RejectUnknownKeys();
  }
  return sections;
}

}  // namespace outcomes
