// The document checks of yaml_reader.h: what yaml-cpp accepts but a config file must not be.
#include <yaml-cpp/eventhandler.h>

#include <algorithm>
#include <sstream>

#include "exporter/config/yaml_reader.h"

namespace outcomes {
namespace {

// Whether the quoted scalar whose quote is at text[open] closes on that same line.
bool QuoteClosesOnItsLine(std::string_view text, std::size_t open) {
  const char quote = text[open];
  for (std::size_t i = open + 1; i < text.size() && text[i] != '\n'; ++i) {
    if (quote == '"' && text[i] == '\\') {
      if (i + 1 < text.size() && text[i + 1] == '\n') return false;  // an escaped line break
      ++i;  // the escaped character, which may be a quote
    } else if (text[i] == quote) {
      if (quote == '\'' && i + 1 < text.size() && text[i + 1] == '\'') {
        ++i;  // '' is a quote inside single quotes
      } else {
        return true;
      }
    }
  }
  return false;
}

// Whether a quote at text[pos] can open a scalar: first on its line, or after ':', '-', '[',
// '{', ',' or '?'. An apostrophe inside a word (it's) cannot.
bool CanOpenScalar(std::string_view text, std::size_t pos) {
  while (pos > 0 && (text[pos - 1] == ' ' || text[pos - 1] == '\t')) --pos;
  return pos == 0 || std::string_view("\n:-[{,?").find(text[pos - 1]) != std::string_view::npos;
}

// Refuses what yaml-cpp accepts but a config file must not be: a top level that is not a
// mapping (junk such as "," or "&a" reads as an empty document, so the exporter would run with
// no collectors), a second document (YAML::Load ignores it silently), and a quoted value that
// does not close on its line (an unterminated quote swallows the rest of the file). It works on
// parser events, so aliases are never expanded. Feed it one document at a time.
class DocumentCheck : public YAML::EventHandler {
 public:
  DocumentCheck(std::string_view text, ErrorList& errors) : text_(text), errors_(errors) {}

  // Whether another document may be read: false after a refused top level, because some junk
  // makes yaml-cpp return empty documents forever, and after the second document.
  bool want_more() const { return documents_ < 2 && !root_refused_; }

  void OnDocumentStart(const YAML::Mark& mark) override {
    if (++documents_ == 2) {
      errors_.Add(mark, "a second YAML document starts here; a config file holds exactly one");
    }
  }
  void OnDocumentEnd() override {}

  void OnNull(const YAML::Mark& mark, YAML::anchor_t /*anchor*/) override {
    if (documents_ != 1) return;
    if (stack_.empty()) {
      // A null top level is an empty file (comments, "---") unless text stands where it is.
      const std::string token = TokenAt(mark.pos);
      if (!token.empty()) RefuseRoot(mark, "\"" + token + "\"");
      return;
    }
    Place(nullptr);
  }
  void OnAlias(const YAML::Mark& mark, YAML::anchor_t /*anchor*/) override {
    if (documents_ != 1) return;
    if (stack_.empty()) {
      RefuseRoot(mark, "an alias");
      return;
    }
    Place(nullptr);
  }
  void OnScalar(const YAML::Mark& mark, const std::string& /*tag*/, YAML::anchor_t /*anchor*/,
                const std::string& value) override {
    if (documents_ != 1) return;
    if (stack_.empty()) {
      RefuseRoot(mark, "a single value");
      return;
    }
    const auto [path, is_key] = Place(&value);
    const auto open = static_cast<std::size_t>(mark.pos);
    if (open < text_.size() && (text_[open] == '"' || text_[open] == '\'') &&
        !QuoteClosesOnItsLine(text_, open)) {
      // The value itself is not repeated: it holds the rest of the file, maybe a password.
      errors_.Add(mark, (path.empty() ? std::string("top level") : path) +
                            (is_key ? ": a quoted key" : ": the quoted value") +
                            " that opens here does not close on this line (for text over "
                            "several lines, use a block scalar: |)");
    }
  }
  void OnSequenceStart(const YAML::Mark& mark, const std::string& /*tag*/,
                       YAML::anchor_t /*anchor*/, YAML::EmitterStyle::value /*style*/) override {
    if (documents_ != 1) return;
    if (stack_.empty()) RefuseRoot(mark, "a list");
    Push(/*mapping=*/false);
  }
  void OnSequenceEnd() override {
    if (documents_ == 1) stack_.pop_back();
  }
  void OnMapStart(const YAML::Mark& /*mark*/, const std::string& /*tag*/, YAML::anchor_t /*anchor*/,
                  YAML::EmitterStyle::value /*style*/) override {
    if (documents_ != 1) return;
    Push(/*mapping=*/true);
  }
  void OnMapEnd() override {
    if (documents_ == 1) stack_.pop_back();
  }

 private:
  struct Container {
    bool mapping;
    std::string path;
    bool at_key = true;
    std::string key;
    std::size_t index = 0;
  };

  void Push(bool mapping) {
    std::string path = stack_.empty() ? "" : Place(nullptr).first;
    stack_.push_back({mapping, std::move(path), true, {}, 0});
  }

  // The path of the node that starts now and whether it is a mapping key; moves the parent on.
  std::pair<std::string, bool> Place(const std::string* scalar) {
    Container& parent = stack_.back();
    if (!parent.mapping) return {parent.path + "[" + std::to_string(parent.index++) + "]", false};
    if (parent.at_key) {
      parent.at_key = false;
      parent.key = scalar != nullptr ? *scalar : "?";
      return {parent.path, true};
    }
    parent.at_key = true;
    return {parent.path.empty() ? parent.key : parent.path + "." + parent.key, false};
  }

  void RefuseRoot(const YAML::Mark& mark, const std::string& found) {
    root_refused_ = true;
    errors_.Add(mark,
                "the top level must be a mapping of sections (store:, endpoints:, registries:, "
                "queries:, analytics:), not " +
                    found);
  }

  // The text that starts at `pos` up to the next blank, or "" if there is none.
  std::string TokenAt(std::size_t pos) const {
    if (pos >= text_.size() || text_[pos] == '#') return "";
    const std::size_t end = std::min(text_.find_first_of(" \t\r\n", pos), pos + 20);
    return std::string(text_.substr(pos, end - pos));
  }

  std::string_view text_;
  ErrorList& errors_;
  int documents_ = 0;
  bool root_refused_ = false;
  std::vector<Container> stack_;
};

}  // namespace

// Where the quoted scalar that is still open at the end of the file opens, for yaml-cpp's
// "illegal EOF in scalar", which points at the end. Inside that scalar there is no closing
// quote of its kind, so it opens at the last double quote or the last lone single quote that can
// open a scalar; if both can, the later one is inside the earlier one.
std::optional<YAML::Mark> FindUnclosedQuote(std::string_view text) {
  std::optional<std::size_t> last_double;
  std::optional<std::size_t> last_single;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const bool escaped_pair =
        text[i] == '\\' || (text[i] == '\'' && i + 1 < text.size() && text[i + 1] == '\'');
    if (escaped_pair) {
      ++i;  // \" (or any escape) in double quotes, '' in single quotes: no quote opens here
    } else if (text[i] == '"' && CanOpenScalar(text, i)) {
      last_double = i;
    } else if (text[i] == '\'' && CanOpenScalar(text, i)) {
      last_single = i;
    }
  }
  if (!last_double && !last_single) return std::nullopt;
  const std::size_t open =
      std::min(last_double.value_or(text.size()), last_single.value_or(text.size()));
  YAML::Mark mark;
  mark.pos = static_cast<int>(open);
  const std::size_t line_start = text.rfind('\n', open);
  mark.line = static_cast<int>(std::count(text.begin(), text.begin() + open, '\n'));
  mark.column =
      static_cast<int>(line_start == std::string_view::npos ? open : open - line_start - 1);
  return mark;
}

// The text as yaml-cpp counts positions in it: without a UTF-8 byte order mark.
std::string_view WithoutBom(std::string_view yaml) {
  constexpr std::string_view kBom = "\xEF\xBB\xBF";
  return yaml.starts_with(kBom) ? yaml.substr(kBom.size()) : yaml;
}

// Runs DocumentCheck over `yaml`; false if it found a problem.
bool CheckDocument(std::string_view yaml, ErrorList& errors) {
  std::istringstream in{std::string(yaml)};
  YAML::Parser parser(in);
  DocumentCheck check(WithoutBom(yaml), errors);
  while (check.want_more() && parser.HandleNextDocument(check)) {
  }
  return errors.empty();
}

}  // namespace outcomes
