// ErrorList: the problems found in one configuration file, each with its file:line:column, so
// that one run of --config.check lists them all, in file order. Not thread-safe.
#pragma once

#include <yaml-cpp/mark.h>

#include <string>
#include <vector>

namespace outcomes {

class ErrorList {
 public:
  explicit ErrorList(std::string source) : source_(std::move(source)) {}

  // A null mark gives "source: message".
  void Add(const YAML::Mark& mark, const std::string& message);
  bool empty() const { return errors_.empty(); }
  // Every problem in file order, one per line.
  std::string Joined() const;

 private:
  struct Entry {
    int line;
    int column;
    std::string text;
  };
  std::string source_;
  std::vector<Entry> errors_;
};

}  // namespace outcomes
