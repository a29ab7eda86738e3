// The actor of a pull subscription (docs/api.md §4): its matching events stay
// queued in the journal, grouped into files that the client lists, reads as
// NDJSON and deletes. A file is a sealed range of the queue (see
// journal::seal_pull_file), so an event is journaled once, by ingest, and
// leaves the journal only when the client deletes its file: a crash loses
// nothing and duplicates nothing.

#include <chrono>
#include <cstdio>
#include <deque>
#include <optional>

#include "actors/messages.hpp"
#include "actors/off_worker.hpp"
#include "actors/subscriber.hpp"
#include "core/json_writer.hpp"
#include "core/time_format.hpp"
#include "log/log.hpp"
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

// The pull subscriber's state. Touched only by its actor. The queue's
// events past the last sealed file are, in seq order: the ranges cut as
// files but not yet stored (`unsealed`, oldest first; only the front one
// is being written), then the open file.
struct pull_state {
  subscription sub;
  stats_ptr stats;
  std::shared_ptr<const subscriber_env> env;

  uint64_t sealed_events = 0; // events in sealed files not yet deleted
  uint64_t last_seen = 0;     // highest seq taken into a file, sealed or open
  // The open file: queued events after the last file cut.
  uint64_t open_first = 0;
  uint64_t open_last = 0;
  uint64_t open_count = 0;
  uint64_t timer_gen = 0;
  // Files cut but not stored yet. They are stored one at a time, in order:
  // a file stored after a failed earlier one would hide that one's events
  // from the recovery after a restart, which starts past the last file.
  std::deque<storage::pull_file> unsealed;
  uint64_t unsealed_events = 0; // events in `unsealed`
  bool sealing = false;         // the front of `unsealed` is being written
  uint64_t seal_failures = 0;   // consecutive failed attempts (the first is logged)
  bool changing = false;        // a delete or purge is being written

  static inline const char* name = "pull_subscriber";
};

using self_ptr = caf::stateful_actor<pull_state>*;

void publish_stats(pull_state& st) {
  std::lock_guard<std::mutex> guard(st.stats->mutex);
  st.stats->queued = st.sealed_events + st.unsealed_events + st.open_count;
  st.stats->in_flight = 0;
}

// Logs a journal failure of this pull subscription: one line, what failed
// and what follows from it.
void log_failure(const pull_state& st, std::string_view what, const storage::error& err,
                 uint64_t events = 0) {
  log::write(
    log::level::error, "storage.error", what,
    {{"subscription", st.sub.id}, {"events", std::to_string(events)}, {"error", err.message}});
}

// Runs `job` (a synced journal write) off the CAF workers, then
// `then(result)` back in this actor (actors/off_worker.hpp).
template <class Job, class Then>
void off_worker(self_ptr self, Job job, Then then) {
  actors::off_worker(self->state.env->writer, caf::actor_cast<caf::actor>(self), std::move(job),
                     std::move(then));
}

// Stores the oldest file cut, unless one is being stored (or a purge runs:
// it drops them all).
void store_next(self_ptr self) {
  auto& st = self->state;
  if (st.sealing || st.changing || st.unsealed.empty())
    return;
  st.sealing = true;
  auto* journal = st.env->journal;
  const uint64_t number = st.sub.number;
  auto f = st.unsealed.front();
  f.sealed_ms = now_ms();
  off_worker(
    self, [journal, number, f] { return journal->seal_pull_file(number, f); },
    [self](std::optional<storage::error>& err) {
      auto& st = self->state;
      st.sealing = false;
      if (st.unsealed.empty())
        return; // purged meanwhile
      if (err) {
        // Kept in order: tried again soon, nothing is stored after it meanwhile.
        if (st.seal_failures++ == 0)
          log_failure(st,
                      "cannot seal a pull file: its events stay queued but unlisted; retrying "
                      "every second (check the disk of storage.data_dir)",
                      *err, st.unsealed.front().count);
        self->delayed_send(self, seal_retry, retry_atom::value, uint64_t{0});
        return;
      }
      if (st.seal_failures != 0) {
        log::write(
          log::level::info, "storage.recovered", "pull files are sealed again",
          {{"subscription", st.sub.id}, {"failed_attempts", std::to_string(st.seal_failures)}});
        st.seal_failures = 0;
      }
      const auto n = st.unsealed.front().count;
      st.unsealed.pop_front();
      st.unsealed_events -= n;
      st.sealed_events += n;
      store_next(self);
      publish_stats(st);
    });
}

// Cuts the open file as the next file to store, and stores it when no
// earlier one is being stored.
void seal(self_ptr self) {
  auto& st = self->state;
  if (st.open_count == 0)
    return;
  st.unsealed.push_back(storage::pull_file{st.open_first, st.open_last, st.open_count, 0});
  st.unsealed_events += st.open_count;
  st.open_first = st.open_last = st.open_count = 0;
  ++st.timer_gen; // the open file's age timer is moot
  store_next(self);
}

// Adds queued event `e` to the open file, sealing it when full.
void take(self_ptr self, const storage::stored_event& e) {
  auto& st = self->state;
  if (e.seq <= st.last_seen)
    return; // already in a file
  st.last_seen = e.seq;
  if (st.open_count == 0) {
    st.open_first = e.seq;
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
    log_failure(st,
                "cannot read the pull files of a subscription at start-up: its events stay "
                "queued but are not listed until a restart reads them (check the disk of "
                "storage.data_dir)",
                files.error());
    return;
  }
  for (const auto& f : *files) {
    st.sealed_events += f.count;
    st.last_seen = std::max(st.last_seen, f.last);
  }
  while (true) {
    auto read = st.env->journal->read_queue(st.sub.number, st.last_seen, recovery_page);
    if (!read) {
      log_failure(st,
                  "cannot read the queue of a pull subscription at start-up: the events not "
                  "read yet are listed after a restart (check the disk of storage.data_dir)",
                  read.error());
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
  log_failure(st, "cannot look up a pull file: the client gets 503", f.error());
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
  // While a client's delete or purge is being written, the requests that
  // change files (and new events, during a purge) return caf::skip: CAF
  // keeps them in the mailbox, in order, until the write's storage_done.
  return {
    [=](enqueue_atom, event_list& list) -> caf::result<void> {
      auto& st = self->state;
      if (st.changing)
        return caf::skip;
      for (const auto& e : list.events)
        take(self, *e);
      publish_stats(st);
      return caf::unit;
    },
    [=](rotate_atom, uint64_t gen) {
      auto& st = self->state;
      if (gen != st.timer_gen || st.open_count == 0)
        return;
      seal(self); // the open file is old enough
      publish_stats(st);
    },
    [=](retry_atom, uint64_t) { store_next(self); }, // after a failed seal
    [=](storage_done& done) { done.then(); },
    [=](const list_event_files& x) -> caf::result<event_file_names> {
      auto& st = self->state;
      auto files = st.env->journal->pull_files(st.sub.number,
                                               std::min<uint64_t>(x.max, max_listed_files));
      if (!files) {
        log_failure(st, "cannot list the pull files of a subscription: the client gets 503",
                    files.error());
        return make_error(errc::unavailable,
                          "cannot list the event files: " + files.error().message + "; retry");
      }
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
        if (!read) {
          log_failure(st, "cannot read a pull file's events: the client gets 503", read.error(),
                      f->count);
          return make_error(errc::unavailable,
                            "cannot read the event file: " + read.error().message + "; retry");
        }
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
      if (st.changing)
        return caf::skip;
      auto f = find_file(st, x.name);
      if (!f)
        return std::move(f.error());
      st.changing = true;
      auto rp = self->make_response_promise<done>();
      auto* journal = st.env->journal;
      const uint64_t number = st.sub.number;
      off_worker(
        self, [journal, number, f = *f] { return journal->drop_pull_file(number, f); },
        [self, rp, f = *f](std::optional<storage::error>& err) mutable {
          auto& st = self->state;
          st.changing = false;
          store_next(self); // a seal may have waited for the delete
          if (err) {
            log_failure(st,
                        "cannot delete a pull file: its events stay queued; the client gets 503 "
                        "and may retry (check the disk of storage.data_dir)",
                        *err, f.count);
            rp.deliver(make_error(errc::unavailable,
                                  "could not delete the event file: " + err->message + "; retry"));
            return;
          }
          st.sealed_events -= std::min(st.sealed_events, f.count);
          {
            std::lock_guard<std::mutex> guard(st.stats->mutex);
            st.stats->delivered += f.count;
            st.stats->last_success_at = now_ms();
          }
          publish_stats(st);
          rp.deliver(done{});
        });
      return rp;
    },
    [=](update_subscription& x) { self->state.sub = std::move(x.sub); },
    [=](purge_queue) -> caf::result<purged> {
      auto& st = self->state;
      if (st.changing)
        return caf::skip;
      // New events wait until the purge is written (they are skipped), so
      // that what is in memory afterwards is what the journal still holds.
      st.changing = true;
      auto rp = self->make_response_promise<purged>();
      auto* journal = st.env->journal;
      const uint64_t number = st.sub.number;
      off_worker(
        self, [journal, number] { return journal->purge(number); },
        [self, rp](storage::expected<uint64_t>& n) mutable {
          auto& st = self->state;
          st.changing = false;
          if (!n) {
            // Nothing was dropped: the files and the open file stay as they were.
            log_failure(st, "cannot purge a pull subscription's queue: the client gets 503",
                        n.error());
            store_next(self);
            rp.deliver(
              make_error(errc::unavailable, "cannot purge the queue: " + n.error().message));
            return;
          }
          st.sealed_events = st.unsealed_events = 0;
          st.unsealed.clear();
          st.seal_failures = 0;
          st.open_first = st.open_last = st.open_count = 0;
          ++st.timer_gen;
          publish_stats(st);
          rp.deliver(purged{*n});
        });
      return rp;
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
