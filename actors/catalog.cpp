#include "actors/catalog.hpp"

#include <cstdio>

#include "core/json_writer.hpp"
#include "storage/journal.hpp"

namespace sy::actors {

namespace {

// Meta names of the catalog: "eventtype/<code>" → write_event_type JSON.
constexpr std::string_view event_type_prefix = "eventtype/";

} // namespace

std::string event_type_catalog::key_of(std::string_view code) {
  std::string key(event_type_prefix);
  key += code;
  return key;
}

std::pair<std::string, std::string> event_type_catalog::record_of(const core::event_type_def& type) {
  core::json_writer w;
  core::write_event_type(w, type);
  return {key_of(type.code), std::move(w).str()};
}

std::optional<storage::error> event_type_catalog::load(storage::journal& journal,
                                                       event_type_publisher& publisher) {
  publisher_ = &publisher;
  auto catalog = std::make_shared<event_type_map>();
  auto records = journal.scan_meta(event_type_prefix);
  if (!records)
    return records.error();
  for (auto& [name, record] : *records) {
    auto type = core::decode_event_type(record);
    if (!type) {
      // One corrupt record must not stop the node.
      std::fprintf(stderr, "switchyard: event type record %s is corrupt (%s); skipped\n",
                   name.c_str(), type.error().what().c_str());
      continue;
    }
    auto code = type->code;
    catalog->insert_or_assign(std::move(code), std::move(*type));
  }
  publish(std::move(catalog));
  return std::nullopt;
}

bool event_type_catalog::contains(const std::string& code) const {
  return current_->find(code) != current_->end();
}

bool event_type_catalog::holds(const std::string& code, const std::string& record) const {
  auto it = current_->find(code);
  return it != current_->end() && record_of(it->second).second == record;
}

bool event_type_catalog::adopt(core::event_type_def type) {
  auto next = std::make_shared<event_type_map>(*current_);
  auto code = type.code;
  const bool added = next->insert_or_assign(std::move(code), std::move(type)).second;
  publish(std::move(next));
  return added;
}

void event_type_catalog::forget(const std::string& code) {
  auto next = std::make_shared<event_type_map>(*current_);
  next->erase(code);
  publish(std::move(next));
}

void event_type_catalog::for_each(const std::function<void(const core::event_type_def&)>& f) const {
  for (const auto& [code, type] : *current_)
    f(type);
}

void event_type_catalog::publish(event_types_ptr next) {
  current_ = std::move(next);
  publisher_->publish(current_);
}

} // namespace sy::actors
