#include "actors/catalog.hpp"

#include <cstdio>

#include "core/json_writer.hpp"
#include "storage/journal.hpp"

namespace sy::actors {

namespace {

// Meta names of the catalog: "eventtype/<code>" → write_event_type JSON.
constexpr std::string_view event_type_prefix = "eventtype/";

std::string event_type_key(std::string_view code) {
  std::string key(event_type_prefix);
  key += code;
  return key;
}

} // namespace

std::optional<storage::error> event_type_catalog::load(storage::journal& journal,
                                                       event_type_publisher& publisher) {
  journal_ = &journal;
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

caf::expected<bool> event_type_catalog::put(core::event_type_def type) {
  core::json_writer w;
  core::write_event_type(w, type);
  if (auto err = journal_->put_meta(event_type_key(type.code), std::move(w).str()))
    return make_error(errc::unavailable,
                      "could not store the event type: " + err->message + "; retry");
  auto next = std::make_shared<event_type_map>(*current_);
  auto code = type.code;
  const bool added = next->insert_or_assign(std::move(code), std::move(type)).second;
  publish(std::move(next));
  return added;
}

caf::expected<bool> event_type_catalog::remove(const std::string& code) {
  if (current_->find(code) == current_->end())
    return false;
  if (auto err = journal_->delete_meta(event_type_key(code)))
    return make_error(errc::unavailable,
                      "could not delete the event type: " + err->message + "; retry");
  auto next = std::make_shared<event_type_map>(*current_);
  next->erase(code);
  publish(std::move(next));
  return true;
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
