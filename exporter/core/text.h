// Text helpers shared by the exposition and the landing page. Pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace outcomes {

// Replaces invalid UTF-8 sequences with U+FFFD so that label values from the store always
// form a valid exposition, whatever bytes the database holds.
std::string SanitizeUtf8(std::string_view text);

// Escapes &, <, >, " and ' for HTML text and attribute values.
std::string HtmlEscape(std::string_view text);

}  // namespace outcomes
