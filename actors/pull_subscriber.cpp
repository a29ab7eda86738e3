// The actor of a pull subscription (docs/api.md §4): its matching events stay
// queued in the journal, grouped into files that the client lists, reads as
// NDJSON and deletes. A file is a sealed range of the queue (see
// journal::seal_pull_file), so an event is journaled once, by ingest, and
// leaves the journal only when the client deletes its file: a crash loses
// nothing and duplicates nothing.

#include <chrono>
#include <cstdio>
#include <optional>

#include "actors/messages.hpp"
#include "actors/subscriber.hpp"
#include "core/json_writer.hpp"
#include "core/time_format.hpp"
#include "storage/journal.hpp"

namespace sy::actors {

using core::now_ms;

namespace {

constexpr std::string_view file_prefix = "evf_";
constexpr std::string_view file_suffix = ".ndjson";
// Events read back per page when recovering the open file.
constexpr std::size_t recovery_page = 1000;
// A failed seal (storage error) is tried again after this long.
constexpr auto seal_retry = std::chrono::seconds(1);

std::string file_name(uint64_t first) {
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(first));
  std::string name(file_prefix);
  name += hex;
  name += file_suffix;
  return name;
}

// Returns the first seq named by a file name, or 0 when it names no file.
uint64_t parse_file_name(std::string_view name) {
  if (name.size() != file_prefix.size() + 16 + file_suffix.size() ||
      name.substr(0, file_prefix.size()) != file_prefix ||
      name.substr(name.size() - file_suffix.size()) != file_suffix)
    return 0;
  uint64_t first = 0;
  for (char c : name.substr(file_prefix.size(), 16)) {
    int digit = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
    if (digit < 0)
      return 0;
    first = first << 4 | static_cast<uint64_t>(digit);
  }
  return first;
}

struct pull_state {
  subscription sub;
  stats_ptr stats;
  std::shared_ptr<const subscriber_env> env;

  uint64_t sealed_events = 0; // events in sealed files not yet deleted
  uint64_t last_seen = 0;     // highest seq taken into a file, sealed or open
  // The open file: queued events after the last sealed one.
  uint64_t open_first = 0;
  uint64_t open_last = 0;
  uint64_t open_count = 0;
  int64_t open_since_ms = 0; // ingest time of its first event
  uint64_t timer_gen = 0;

  static inline const char* name = "pull_subscriber";
};

using self_ptr = caf::stateful_actor<pull_state>*;

void publish_stats(pull_state& st) {
  std::lock_guard<std::mutex> guard(st.stats->mutex);
  st.stats->queued = st.sealed_events + st.open_count;
  st.stats->in_flight = 0;
}

// Seals the open file; on a storage error keeps it open and tries again soon.
void seal(self_ptr self) {
  auto& st = self->state;
  if (st.open_count == 0)
    return;
  storage::pull_file f{st.open_first, st.open_last, st.open_count, now_ms()};
  if (auto err = st.env->journal->seal_pull_file(st.sub.number, f)) {
    std::fprintf(stderr,
                 "switchyard: could not seal a pull file of subscription %s: %s; retrying\n",
                 st.sub.id.c_str(), err->message.c_str());
    self->delayed_send(self, seal_retry, rotate_atom::value, ++st.timer_gen);
    return;
  }
  st.sealed_events += st.open_count;
  st.open_first = st.open_last = st.open_count = 0;
  ++st.timer_gen; // the open file's age timer is moot
}

// Adds queued event `e` to the open file, sealing it when full.
void take(self_ptr self, const storage::stored_event& e) {
  auto& st = self->state;
  if (e.seq <= st.last_seen)
    return; // already in a file
  st.last_seen = e.seq;
  if (st.open_count == 0) {
    st.open_first = e.seq;
    st.open_since_ms = e.ingest_ms;
    auto age = now_ms() - e.ingest_ms;
    auto wait = std::max<int64_t>(0, st.env->settings.pull_file_max_age_ms - age);
    self->delayed_send(self, std::chrono::milliseconds(wait), rotate_atom::value, ++st.timer_gen);
  }
  st.open_last = e.seq;
  ++st.open_count;
  if (static_cast<int64_t>(st.open_count) >= st.env->settings.pull_file_max_events)
    seal(self);
}

// Rebuilds the state from the journal: sealed files, then the queued events
// after them, which form the open file (sealed in steps when a crash left
// more than a file's worth).
void recover(self_ptr self) {
  auto& st = self->state;
  auto files = st.env->journal->pull_files(st.sub.number, SIZE_MAX);
  if (!files) {
    std::fprintf(stderr, "switchyard: cannot read the pull files of subscription %s: %s\n",
                 st.sub.id.c_str(), files.error().message.c_str());
    return;
  }
  for (const auto& f : *files) {
    st.sealed_events += f.count;
    st.last_seen = std::max(st.last_seen, f.last);
  }
  while (true) {
    auto read = st.env->journal->read_queue(st.sub.number, st.last_seen, recovery_page);
    if (!read) {
      std::fprintf(stderr, "switchyard: cannot read the queue of subscription %s: %s\n",
                   st.sub.id.c_str(), read.error().message.c_str());
      return;
    }
    const auto& page = *read;
    for (const auto& e : page)
      take(self, *e);
    if (page.size() < recovery_page)
      break;
  }
}

caf::error no_such_file(const std::string& name) {
  return make_error(errc::not_found,
                    "no event file named " + name + "; GET /v1/eventfiles lists them");
}

// Returns the sealed file called `name`: not_found when there is none,
// unavailable when the journal could not be read.
caf::expected<storage::pull_file> find_file(const pull_state& st, const std::string& name) {
  auto first = parse_file_name(name);
  if (first == 0)
    return no_such_file(name);
  auto f = st.env->journal->find_pull_file(st.sub.number, first);
  if (f)
    return *f;
  if (f.error().not_found())
    return no_such_file(name);
  return make_error(errc::unavailable,
                    "cannot read the event file: " + f.error().message + "; retry");
}

caf::behavior pull_actor(self_ptr self, subscription sub, stats_ptr stats,
                         std::shared_ptr<const subscriber_env> env, bool recovered) {
  auto& st = self->state;
  st.sub = std::move(sub);
  st.stats = std::move(stats);
  st.env = std::move(env);
  if (recovered)
    recover(self);
  publish_stats(st);
  return {
    [=](enqueue_atom, event_list& list) {
      for (const auto& e : list.events)
        take(self, *e);
      publish_stats(self->state);
    },
    [=](rotate_atom, uint64_t gen) {
      auto& st = self->state;
      if (gen != st.timer_gen || st.open_count == 0)
        return;
      seal(self);
      publish_stats(st);
    },
    [=](const list_event_files& x) -> caf::result<event_file_names> {
      auto& st = self->state;
      auto files = st.env->journal->pull_files(st.sub.number,
                                               std::min<uint64_t>(x.max, max_listed_files));
      if (!files)
        return make_error(errc::unavailable,
                          "cannot list the event files: " + files.error().message + "; retry");
      event_file_names out;
      for (const auto& f : *files)
        out.names.push_back(file_name(f.first));
      return out;
    },
    [=](const read_event_file& x) -> caf::result<event_file_body> {
      auto& st = self->state;
      auto f = find_file(st, x.name);
      if (!f)
        return std::move(f.error());
      std::string body;
      uint64_t after = f->first - 1;
      while (after < f->last) {
        auto read = st.env->journal->read_queue(st.sub.number, after, recovery_page);
        if (!read)
          return make_error(errc::unavailable,
                            "cannot read the event file: " + read.error().message + "; retry");
        const auto& page = *read;
        for (const auto& e : page) {
          if (e->seq > f->last)
            break;
          body += envelope_body(st.sub, *e);
          body += '\n';
        }
        if (page.size() < recovery_page)
          break;
        after = page.back()->seq;
      }
      return event_file_body{std::move(body)};
    },
    [=](const delete_event_file& x) -> caf::result<done> {
      auto& st = self->state;
      auto f = find_file(st, x.name);
      if (!f)
        return std::move(f.error());
      if (auto err = st.env->journal->drop_pull_file(st.sub.number, *f))
        return make_error(errc::unavailable,
                          "could not delete the event file: " + err->message + "; retry");
      st.sealed_events -= std::min(st.sealed_events, f->count);
      {
        std::lock_guard<std::mutex> guard(st.stats->mutex);
        st.stats->delivered += f->count;
        st.stats->last_success_at = now_ms();
      }
      publish_stats(st);
      return done{};
    },
    [=](update_subscription& x) { self->state.sub = std::move(x.sub); },
    [=](purge_queue) -> caf::result<purged> {
      auto& st = self->state;
      auto n = st.env->journal->purge(st.sub.number);
      if (!n)
        return make_error(errc::unavailable, "cannot purge the queue: " + n.error().message);
      st.sealed_events = 0;
      st.open_first = st.open_last = st.open_count = 0;
      ++st.timer_gen;
      publish_stats(st);
      return purged{*n};
    },
    [=](const replay_dead_letters&) { return replayed{0}; }, // nothing is dead-lettered
  };
}

} // namespace

caf::actor spawn_pull_subscriber(caf::actor_system& sys, subscription sub, stats_ptr stats,
                                 std::shared_ptr<const subscriber_env> env, bool recovered) {
  return sys.spawn(pull_actor, std::move(sub), std::move(stats), std::move(env), recovered);
}

} // namespace sy::actors
