// The change-notification watcher inside the registry actor (docs/api.md
// §4): one internal subscription whose queue holds one event per
// subscription change, delivered with the usual retries.

#include <cstdio>

#include "actors/ingest.hpp"
#include "actors/registry.hpp"
#include "core/json_writer.hpp"
#include "core/time_format.hpp"
#include "storage/journal.hpp"

namespace sy::actors {

namespace {

// The watcher's public id, out of the API's reach ("sub_…" or digits).
constexpr std::string_view watcher_id = "subscription_watcher";

} // namespace

caf::result<watcher_view> registry_state::put_watcher(core::watcher_spec spec) {
  auto rp = self_->make_response_promise<watcher_view>();
  if (auto* e = find(std::string(watcher_id), subscription_kind::watcher)) {
    subscription s = e->sub;
    s.url = std::move(spec.notification_url);
    s.auth = std::move(spec.auth);
    s.notification_key = std::move(spec.notification_key);
    update(*e, std::move(s), [rp, e](caf::expected<void> updated) mutable {
      if (!updated)
        rp.deliver(std::move(updated.error()));
      else
        rp.deliver(watcher_view{e->sub, false});
    });
    return rp;
  }
  subscription s;
  s.id = watcher_id;
  s.kind = subscription_kind::watcher;
  s.service = "subscription-watcher";
  s.url = std::move(spec.notification_url);
  s.auth = std::move(spec.auth);
  s.notification_key = std::move(spec.notification_key);
  s.verification_required = false;
  s.state = core::subscription_state::active;
  s.max_in_flight = 1; // changes arrive in the order they happened
  add(std::move(s), [rp](caf::expected<entry*> added) mutable {
    if (!added)
      rp.deliver(std::move(added.error()));
    else
      rp.deliver(watcher_view{(*added)->sub, true});
  });
  return rp;
}

caf::expected<watcher_view> registry_state::get_watcher() const {
  const auto* e = find(std::string(watcher_id), subscription_kind::watcher);
  if (!e)
    return make_error(errc::not_found,
                      "no subscription change notification is registered; PUT one first");
  return watcher_view{e->sub, false};
}

caf::result<done> registry_state::remove_watcher() {
  return remove(subscription_kind::watcher, std::string(watcher_id));
}

std::optional<registry_state::watcher_note> registry_state::note_for(
  std::string_view change, const subscription& sub) const {
  if (!sub.is_client_kind())
    return std::nullopt;
  auto it = subs_.find(std::string(watcher_id));
  if (it == subs_.end())
    return std::nullopt;
  const auto& watcher = it->second.sub;
  return watcher_note{watcher.number, watcher.notification_key, std::string(change)};
}

storage::event_ptr registry_state::journal_note(storage::journal& journal, const watcher_note& note,
                                                const subscription& sub) {
  core::json_writer w;
  w.begin_object().key("notificationKey");
  if (note.notification_key.empty())
    w.null();
  else
    w.value(note.notification_key);
  w.key("change").value(note.change).key("subscription");
  write_subscription(w, sub, nullptr, false);
  w.end_object();

  auto ev = std::make_shared<storage::stored_event>();
  auto reservation = journal.reserve(1); // held until the append is written
  ev->seq = reservation.first();
  ev->ingest_ms = core::now_ms();
  ev->ev.id = event_id(ev->seq);
  ev->ev.type = "switchyard.subscription." + note.change;
  ev->ev.data = std::move(w).str();
  ev->ev.timestamp_ms = ev->ingest_ms;
  storage::event_ptr stored = ev;
  if (auto err = journal.append({storage::append_item{stored, {note.watcher_number}}})) {
    // The change itself is stored; only its notification is lost.
    std::fprintf(stderr,
                 "switchyard: could not journal the %s notification of subscription %s: %s\n",
                 note.change.c_str(), sub.id.c_str(), err->message.c_str());
    return nullptr;
  }
  return stored;
}

void registry_state::deliver_note(storage::event_ptr note) {
  if (!note)
    return;
  auto it = subs_.find(std::string(watcher_id));
  if (it == subs_.end())
    return;
  actors::event_list list;
  list.events.push_back(std::move(note));
  caf::anon_send(it->second.slot->get(), enqueue_atom::value, std::move(list));
}

} // namespace sy::actors
