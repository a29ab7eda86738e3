// The registry actor, one message at a time: CAF's deterministic test
// coordinator runs every actor on this thread, the journal is a real
// RocksDB in a temporary directory, and the HTTP client's io_context is
// never run, so a verification's answer is whatever the test sends.

#include "actors/registry.hpp"

#include <gtest/gtest.h>

#include <algorithm>

#include <boost/asio/io_context.hpp>
#include <caf/scheduler/test_coordinator.hpp>

#include <filesystem>
#include <functional>

#include "storage/journal.hpp"
#include "storage/worker.hpp"
#include "tests/unit/actors/writer_hold.hpp"
#include "transport/http_client.hpp"

namespace sy::actors {
namespace {

namespace fs = std::filesystem;

class registry_fixture : public ::testing::Test {
protected:
  registry_fixture() {
    dir_ = fs::temp_directory_path() /
           ("sy_registry_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter_++));
    fs::remove_all(dir_);
    open();
  }

  ~registry_fixture() override {
    stop();
    fs::remove_all(dir_);
  }

  void open() {
    std::string error;
    journal_ = storage::journal::open(dir_.string(), false, error);
    ASSERT_TRUE(journal_) << error;
    // The actor system keeps a reference to its config: it must outlive it.
    cfg_ = std::make_unique<caf::actor_system_config>();
    cfg_->set("scheduler.policy", caf::atom("testing"));
    cfg_->set("logger.verbosity", caf::atom("quiet"));
    register_protocol(*cfg_);
    sys_ = std::make_unique<caf::actor_system>(*cfg_);
    sched_ = &dynamic_cast<caf::scheduler::test_coordinator&>(sys_->scheduler());
    routes_.publish(std::make_shared<route_table>(std::vector<core::index_entry>{}));
    auto sub_env = std::make_shared<subscriber_env>();
    sub_env->journal = journal_.get();
    sub_env->client = &client_;
    sub_env->writer = writer_;
    registry_state::env_t env;
    env.journal = journal_.get();
    env.client = &client_;
    env.routes = &routes_;
    env.event_types = &event_types_;
    env.subscriber_env = sub_env;
    env.system = sys_.get();
    env.ready = &ready_;
    env.mirror = mirror_;
    registry_ = spawn_registry(*sys_, env);
    sched_->run();
  }

  void stop() {
    if (!sys_)
      return;
    caf::anon_send_exit(registry_, caf::exit_reason::user_shutdown);
    registry_ = nullptr;
    sched_->run();
    sys_.reset();
    cfg_.reset();
    journal_.reset();
  }

  void restart() {
    stop();
    open();
  }

  // Sends `request`, runs every actor until nothing is left to do and
  // returns the answer: a value or the error.
  template <class Reply, class Request>
  caf::expected<Reply> ask(Request request) {
    caf::expected<Reply> out{caf::make_error(caf::sec::unexpected_response)};
    caf::scoped_actor self{*sys_};
    self->send(registry_, std::move(request));
    sched_->run();
    self->receive([&](Reply& reply) { out = std::move(reply); },
                  [&](caf::error& err) { out = std::move(err); },
                  caf::after(std::chrono::seconds(0)) >>
                    [&] { out = caf::make_error(caf::sec::request_timeout); });
    return out;
  }

  static errc kind(const caf::error& e) { return to_domain_error(e).code; }

  // Starts verifying `id`, answers the challenge as `answer` says (the
  // client never runs) and returns the error the verification ended with.
  caf::error verify_answered(const std::string& id, verification_answer answer,
                             const std::function<void()>& meanwhile = {}) {
    caf::scoped_actor self{*sys_};
    self->send(registry_, verify_subscription{id});
    sched_->run();
    if (meanwhile)
      meanwhile();
    caf::anon_send(registry_, std::move(answer));
    sched_->run();
    caf::error err;
    self->receive([&](subscription_view&) {}, [&](caf::error& e) { err = std::move(e); },
                  caf::after(std::chrono::seconds(0)) >> [] {});
    return err;
  }

  bool routed(const std::string& id) {
    const auto& index = routes_.current()->index;
    for (uint32_t i = 0; i < index.size(); ++i)
      if (index.entry(i).id == id)
        return true;
    return false;
  }

  subscription_view create(bool skip_verification) {
    core::subscription_spec spec;
    spec.service = "shop";
    spec.url = "http://127.0.0.1:9/hook";
    spec.types = std::vector<std::string>{"billing.*"};
    spec.verification_required = !skip_verification;
    auto v = ask<subscription_view>(create_subscription{spec});
    EXPECT_TRUE(v) << sys_->render(v.error());
    return *v;
  }

  static inline int counter_ = 0;
  fs::path dir_;
  std::unique_ptr<storage::journal> journal_;
  boost::asio::io_context ioc_; // never run: no request leaves the test
  transport::http_client client_{ioc_, transport::client_options{}};
  route_publisher routes_;
  event_type_publisher event_types_;
  // Runs the registry's synced writes when set (open() reads it); null:
  // they run inline, on the coordinator's thread.
  storage::blocking_worker* writer_ = nullptr;
  std::atomic<bool> ready_{false};
  // Cluster mode when set (open() reads it): the etcd the registry writes to.
  subscription_mirror* mirror_ = nullptr;
  std::unique_ptr<caf::actor_system_config> cfg_;
  std::unique_ptr<caf::actor_system> sys_;
  caf::scheduler::test_coordinator* sched_ = nullptr;
  registry_actor registry_;
};

TEST_F(registry_fixture, becomes_ready_after_loading_the_journal) { EXPECT_TRUE(ready_.load()); }

TEST_F(registry_fixture, creates_a_pending_subscription_that_is_not_routed) {
  auto v = create(false);
  EXPECT_EQ(v.sub.state, core::subscription_state::pending_verification);
  EXPECT_TRUE(v.show_private_key);
  EXPECT_EQ(v.sub.private_key.rfind("whsec_", 0), 0u);
  EXPECT_FALSE(routed(v.sub.id));
  auto got = ask<subscription_view>(get_subscription{subscription_kind::native, v.sub.id});
  ASSERT_TRUE(got);
  EXPECT_EQ(got->sub, v.sub);
  EXPECT_FALSE(got->show_private_key);
}

TEST_F(registry_fixture, an_unverified_subscription_cannot_be_paused) {
  auto v = create(false);
  auto paused = ask<subscription_view>(pause_subscription{v.sub.id});
  ASSERT_FALSE(paused);
  EXPECT_EQ(kind(paused.error()), errc::conflict);
}

TEST_F(registry_fixture, unknown_ids_are_not_found) {
  auto got = ask<subscription_view>(get_subscription{subscription_kind::native, "sub_nope"});
  ASSERT_FALSE(got);
  EXPECT_EQ(kind(got.error()), errc::not_found);
  auto purge = ask<purged>(purge_subscription{"sub_nope"});
  ASSERT_FALSE(purge);
  EXPECT_EQ(kind(purge.error()), errc::not_found);
}

TEST_F(registry_fixture, a_subscription_that_skips_verification_is_routed_and_can_pause) {
  auto v = create(true);
  EXPECT_EQ(v.sub.state, core::subscription_state::active);
  EXPECT_TRUE(routed(v.sub.id));
  auto paused = ask<subscription_view>(pause_subscription{v.sub.id});
  ASSERT_TRUE(paused);
  EXPECT_EQ(paused->sub.state, core::subscription_state::paused);
  EXPECT_TRUE(routed(v.sub.id)); // a paused subscription keeps queuing
}

TEST_F(registry_fixture, a_new_url_rotates_the_keys_and_asks_for_verification_again) {
  auto v = create(true);
  core::subscription_spec change;
  change.url = "http://127.0.0.1:9/other";
  auto patched = ask<subscription_view>(patch_subscription{v.sub.id, change});
  ASSERT_TRUE(patched);
  EXPECT_TRUE(patched->show_private_key);
  EXPECT_NE(patched->sub.private_key, v.sub.private_key);
  EXPECT_EQ(patched->sub.state, core::subscription_state::active); // verification was skipped
  EXPECT_EQ(patched->sub.url, "http://127.0.0.1:9/other");
}

TEST_F(registry_fixture, delete_is_idempotent) {
  auto v = create(true);
  EXPECT_TRUE(ask<done>(delete_subscription{subscription_kind::native, v.sub.id}));
  EXPECT_TRUE(ask<done>(delete_subscription{subscription_kind::native, v.sub.id}));
  EXPECT_FALSE(routed(v.sub.id));
  auto got = ask<subscription_view>(get_subscription{subscription_kind::native, v.sub.id});
  ASSERT_FALSE(got);
  EXPECT_EQ(kind(got.error()), errc::not_found);
}

TEST_F(registry_fixture, a_failed_challenge_is_invalid_naming_the_url) {
  auto v = create(false);
  auto err = verify_answered(v.sub.id, verification_answer{1, 500, "", ""});
  auto d = to_domain_error(err);
  EXPECT_EQ(d.code, errc::invalid);
  EXPECT_EQ(d.field, "url");
  EXPECT_NE(d.message.find("HTTP 500"), std::string::npos);
}

TEST_F(registry_fixture, a_key_change_during_verification_is_a_conflict) {
  auto v = create(false);
  auto err = verify_answered(v.sub.id, verification_answer{1, 200, "whatever", ""}, [&] {
    core::subscription_spec change;
    change.url = "http://127.0.0.1:9/moved";
    ASSERT_TRUE(ask<subscription_view>(patch_subscription{v.sub.id, change}));
  });
  EXPECT_EQ(kind(err), errc::conflict);
}

TEST_F(registry_fixture, event_types_are_added_then_replaced_and_published) {
  core::event_type_def t;
  t.code = "purchase";
  t.name = "Purchase";
  auto first = ask<event_type_stored>(put_event_type{t});
  ASSERT_TRUE(first);
  EXPECT_TRUE(first->added);
  t.name = "Purchase v2";
  auto second = ask<event_type_stored>(put_event_type{t});
  ASSERT_TRUE(second);
  EXPECT_FALSE(second->added);
  ASSERT_EQ(event_types_.current()->count("purchase"), 1u);
  EXPECT_EQ(event_types_.current()->at("purchase").name, "Purchase v2");
  auto gone = ask<event_type_deleted>(delete_event_type{"purchase"});
  ASSERT_TRUE(gone);
  EXPECT_TRUE(gone->existed);
  EXPECT_EQ(event_types_.current()->count("purchase"), 0u);
}

TEST_F(registry_fixture, the_watcher_is_created_once_then_replaced) {
  core::watcher_spec w{"k1", "http://127.0.0.1:9/watch", {}};
  auto first = ask<watcher_view>(put_watcher{w});
  ASSERT_TRUE(first);
  EXPECT_TRUE(first->created);
  w.notification_key = "k2";
  auto second = ask<watcher_view>(put_watcher{w});
  ASSERT_TRUE(second);
  EXPECT_FALSE(second->created);
  auto got = ask<watcher_view>(get_watcher{});
  ASSERT_TRUE(got);
  EXPECT_EQ(got->sub.notification_key, "k2");
  EXPECT_TRUE(ask<done>(delete_watcher{}));
  auto none = ask<watcher_view>(get_watcher{});
  ASSERT_FALSE(none);
  EXPECT_EQ(kind(none.error()), errc::not_found);
}

TEST_F(registry_fixture, a_pull_subscription_is_found_by_its_access_key_only) {
  core::subscription_spec spec;
  spec.delivery = core::delivery_mode::pull;
  auto v = ask<subscription_view>(create_subscription{spec});
  ASSERT_TRUE(v);
  ASSERT_FALSE(v->sub.access_key.empty());
  auto found = ask<pull_subscriber_found>(find_pull_subscriber{v->sub.access_key});
  ASSERT_TRUE(found);
  EXPECT_TRUE(found->subscriber);
  EXPECT_EQ(found->id, v->sub.id);
  auto wrong = ask<pull_subscriber_found>(find_pull_subscriber{v->sub.access_key + "x"});
  ASSERT_FALSE(wrong);
  EXPECT_EQ(kind(wrong.error()), errc::unauthorized);
}

TEST_F(registry_fixture, routes_follow_creates_patches_deletes_and_restarts) {
  // The ids whose route the published table gives `type`, each checked
  // against its target's journal number.
  auto routed_to = [this](std::string_view type) {
    auto table = routes_.current();
    std::vector<uint32_t> ords;
    table->index.match(type, "", ords);
    std::vector<std::string> ids;
    for (auto o : ords) {
      const auto& id = table->index.entry(o).id;
      auto got = ask<subscription_view>(get_subscription{subscription_kind::native, id});
      EXPECT_TRUE(got) << id;
      if (got) {
        EXPECT_EQ(table->targets[o].number, got->sub.number) << id;
      }
      ids.push_back(id);
    }
    std::sort(ids.begin(), ids.end());
    return ids;
  };
  auto a = create(true); // billing.*
  auto b = create(true);
  auto sorted = [](std::vector<std::string> v) {
    std::sort(v.begin(), v.end());
    return v;
  };
  EXPECT_EQ(routed_to("billing.paid"), sorted({a.sub.id, b.sub.id}));
  core::subscription_spec change;
  change.types = std::vector<std::string>{"orders.**"};
  ASSERT_TRUE(ask<subscription_view>(patch_subscription{b.sub.id, change}));
  EXPECT_EQ(routed_to("billing.paid"), std::vector<std::string>{a.sub.id});
  EXPECT_EQ(routed_to("orders.new.x"), std::vector<std::string>{b.sub.id});
  ASSERT_TRUE(ask<done>(delete_subscription{subscription_kind::native, a.sub.id}));
  EXPECT_TRUE(routed_to("billing.paid").empty());
  auto c = create(true); // takes a's freed ordinal
  EXPECT_EQ(routed_to("billing.paid"), std::vector<std::string>{c.sub.id});
  restart();
  EXPECT_EQ(routed_to("billing.paid"), std::vector<std::string>{c.sub.id});
  EXPECT_EQ(routed_to("orders.new.x"), std::vector<std::string>{b.sub.id});
}

TEST_F(registry_fixture, a_pull_access_key_is_found_after_a_restart_and_not_after_a_delete) {
  core::subscription_spec spec;
  spec.delivery = core::delivery_mode::pull;
  auto v = ask<subscription_view>(create_subscription{spec});
  ASSERT_TRUE(v);
  auto other = ask<subscription_view>(create_subscription{spec});
  ASSERT_TRUE(other);
  restart();
  EXPECT_TRUE(ask<pull_subscriber_found>(find_pull_subscriber{v->sub.access_key}));
  ASSERT_TRUE(ask<done>(delete_subscription{subscription_kind::native, v->sub.id}));
  auto gone = ask<pull_subscriber_found>(find_pull_subscriber{v->sub.access_key});
  ASSERT_FALSE(gone);
  EXPECT_EQ(kind(gone.error()), errc::unauthorized);
  EXPECT_TRUE(ask<pull_subscriber_found>(find_pull_subscriber{other->sub.access_key}));
}

TEST_F(registry_fixture, subscriptions_survive_a_restart) {
  auto v = create(true);
  restart();
  auto got = ask<subscription_view>(get_subscription{subscription_kind::native, v.sub.id});
  ASSERT_TRUE(got);
  EXPECT_EQ(got->sub.url, v.sub.url);
  EXPECT_EQ(got->sub.private_key, v.sub.private_key);
  EXPECT_TRUE(routed(v.sub.id));
}

TEST_F(registry_fixture, associations_survive_a_restart) {
  core::association_spec a;
  a.token = "device-1";
  a.cellphone = "573140000001";
  ASSERT_TRUE(ask<done>(put_association{a}));
  restart();
  core::send_to_list_spec spec;
  spec.by_association = true;
  spec.cellphones = {"573140000001"};
  auto tokens = ask<push_tokens>(resolve_push_tokens{spec});
  ASSERT_TRUE(tokens);
  EXPECT_EQ(tokens->tokens, std::vector<std::string>{"device-1"});
}

TEST_F(registry_fixture, a_change_is_answered_after_its_write_and_later_changes_wait_for_it) {
  auto v = create(true);
  const auto id = v.sub.id;
  storage::blocking_worker worker;
  writer_ = &worker;
  restart();
  // Hold the writer, so that the pause's write cannot end before the test says.
  test_support::writer_hold hold(worker);

  { // the scoped actor must be gone before the actor system is
    caf::scoped_actor self{*sys_};
    self->send(registry_, pause_subscription{id});
    self->send(registry_, activate_subscription{id});
    self->send(registry_, get_subscription{subscription_kind::native, id});
    sched_->run();
    // Only the read is answered, from the state before the pause; the pause
    // waits for its write and the activation waits for the pause.
    std::vector<core::subscription_state> answers;
    auto take_answers = [&] {
      bool more = true;
      while (more)
        self->receive([&](subscription_view& x) { answers.push_back(x.sub.state); },
                      [&](caf::error& e) { ADD_FAILURE() << sys_->render(e); },
                      caf::after(std::chrono::seconds(0)) >> [&] { more = false; });
    };
    take_answers();
    ASSERT_EQ(answers.size(), 1u);
    EXPECT_EQ(answers[0], core::subscription_state::active);
    EXPECT_TRUE(routed(id));

    hold.release();
    test_support::drain(worker); // the pause is stored
    // Held, so that the activation's write cannot finish (and its answer
    // arrive on the writer thread) while the scheduler runs below.
    test_support::writer_hold second(worker);
    sched_->run(); // …answered; the activation's write starts
    take_answers();
    ASSERT_EQ(answers.size(), 2u);
    EXPECT_EQ(answers[1], core::subscription_state::paused);
    second.release();
    test_support::drain(worker);
    sched_->run();
    take_answers();
    ASSERT_EQ(answers.size(), 3u);
    EXPECT_EQ(answers[2], core::subscription_state::active);
  }

  // Stored in that order: a restart finds the last change.
  stop();
  writer_ = nullptr;
  open();
  auto got = ask<subscription_view>(get_subscription{subscription_kind::native, id});
  ASSERT_TRUE(got);
  EXPECT_EQ(got->sub.state, core::subscription_state::active);
}

TEST_F(registry_fixture, a_subscription_is_created_and_deleted_through_the_writer) {
  storage::blocking_worker worker;
  writer_ = &worker;
  restart();
  {
    caf::scoped_actor self{*sys_};
    core::subscription_spec spec;
    spec.url = "http://127.0.0.1:9/hook";
    spec.verification_required = false;
    self->send(registry_, create_subscription{spec});
    sched_->run();
    test_support::drain(worker);
    sched_->run();
    std::string id;
    self->receive([&](subscription_view& x) { id = x.sub.id; },
                  [&](caf::error& e) { ADD_FAILURE() << sys_->render(e); },
                  caf::after(std::chrono::seconds(0)) >> [] { ADD_FAILURE() << "no answer"; });
    ASSERT_FALSE(id.empty());
    EXPECT_TRUE(routed(id));

    self->send(registry_, delete_subscription{subscription_kind::native, id});
    sched_->run();
    test_support::drain(worker);
    sched_->run();
    bool deleted = false;
    self->receive([&](done&) { deleted = true; },
                  [&](caf::error& e) { ADD_FAILURE() << sys_->render(e); },
                  caf::after(std::chrono::seconds(0)) >> [] { ADD_FAILURE() << "no answer"; });
    EXPECT_TRUE(deleted);
    EXPECT_FALSE(routed(id));
  }
  stop();
}

// -- cluster mode: the subscription registry in etcd --------------------------

// An etcd that answers at once as `answer` says, counting revisions.
struct fake_mirror : subscription_mirror {
  mirror_outcome::kind answer = mirror_outcome::kind::ok;
  int64_t revision = 0;
  std::map<std::string, std::string> records; // id → the last record written
  std::map<std::string, int64_t> expected;    // id → the mod_revision it compared
  std::vector<std::string> erased;

  void put(const std::string& id, std::string record, int64_t mod_revision,
           std::function<void(mirror_outcome)> done) override {
    expected[id] = mod_revision;
    mirror_outcome o;
    o.result = answer;
    if (answer == mirror_outcome::kind::ok) {
      records[id] = std::move(record);
      o.revision = ++revision;
    } else {
      o.message = "no answer (test)";
    }
    done(std::move(o));
  }

  void erase(const std::string& id, std::function<void(mirror_outcome)> done) override {
    mirror_outcome o;
    o.result = answer;
    if (answer == mirror_outcome::kind::ok)
      erased.push_back(id);
    done(std::move(o));
  }

  std::map<std::string, std::string> types; // code → the last record written

  void put_event_type(const std::string& code, std::string record,
                      std::function<void(mirror_outcome)> done) override {
    mirror_outcome o;
    o.result = answer;
    if (answer == mirror_outcome::kind::ok)
      types[code] = std::move(record);
    else
      o.message = "no answer (test)";
    done(std::move(o));
  }

  void erase_event_type(const std::string& code,
                        std::function<void(mirror_outcome)> done) override {
    mirror_outcome o;
    o.result = answer;
    if (answer == mirror_outcome::kind::ok)
      types.erase(code);
    else
      o.message = "no answer (test)";
    done(std::move(o));
  }

  std::map<std::string, std::string> associations; // token → the last record written

  void put_association(const std::string& token, std::string record,
                       std::function<void(mirror_outcome)> done) override {
    mirror_outcome o;
    o.result = answer;
    if (answer == mirror_outcome::kind::ok)
      associations[token] = std::move(record);
    else
      o.message = "no answer (test)";
    done(std::move(o));
  }

  std::vector<std::string> added; // tokens add_association wrote

  void add_association(const std::string& token, std::string record,
                       std::function<void(mirror_outcome)> done) override {
    mirror_outcome o;
    o.result = answer;
    if (answer != mirror_outcome::kind::ok) {
      o.message = "no answer (test)";
    } else if (associations.count(token)) {
      o.result = mirror_outcome::kind::conflict;
    } else {
      associations[token] = std::move(record);
      added.push_back(token);
    }
    done(std::move(o));
  }
};

TEST_F(registry_fixture, in_cluster_mode_a_change_goes_to_etcd_first_with_the_revision_last_seen) {
  fake_mirror etcd;
  mirror_ = &etcd;
  restart();
  auto v = create(true);
  const auto id = v.sub.id;
  ASSERT_EQ(etcd.records.count(id), 1u);
  EXPECT_EQ(etcd.expected[id], 0); // a create: the key must not exist
  auto stored = decode_subscription(etcd.records[id]);
  ASSERT_TRUE(stored);
  EXPECT_EQ(stored->number, 0u);
  EXPECT_EQ(stored->private_key, v.sub.private_key);

  core::subscription_spec spec;
  spec.service = "renamed";
  auto patched = ask<subscription_view>(patch_subscription{id, spec});
  ASSERT_TRUE(patched) << sys_->render(patched.error());
  EXPECT_EQ(etcd.expected[id], 1); // the create's revision

  // Another node changed it meanwhile: 409, nothing changed here.
  etcd.answer = mirror_outcome::kind::conflict;
  spec.service = "lost";
  patched = ask<subscription_view>(patch_subscription{id, spec});
  ASSERT_FALSE(patched);
  EXPECT_EQ(kind(patched.error()), errc::conflict);
  auto got = ask<subscription_view>(get_subscription{subscription_kind::native, id});
  ASSERT_TRUE(got);
  EXPECT_EQ(got->sub.service, "renamed");

  // etcd does not answer: unavailable (503), naming etcd; nothing created.
  etcd.answer = mirror_outcome::kind::unreachable;
  core::subscription_spec fresh;
  fresh.url = "http://127.0.0.1:9/other";
  auto created = ask<subscription_view>(create_subscription{fresh});
  ASSERT_FALSE(created);
  EXPECT_EQ(kind(created.error()), errc::unavailable);
  EXPECT_NE(to_domain_error(created.error()).message.find("etcd cannot be reached"),
            std::string::npos);
  auto listed = ask<subscription_list>(list_subscriptions{subscription_kind::native});
  ASSERT_TRUE(listed);
  EXPECT_EQ(listed->items.size(), 1u);
  auto removed = ask<done>(delete_subscription{subscription_kind::native, id});
  EXPECT_FALSE(removed);
  EXPECT_TRUE(ask<subscription_view>(get_subscription{subscription_kind::native, id}));

  etcd.answer = mirror_outcome::kind::ok;
  removed = ask<done>(delete_subscription{subscription_kind::native, id});
  EXPECT_TRUE(removed);
  EXPECT_EQ(etcd.erased, std::vector<std::string>{id});
  EXPECT_FALSE(ask<subscription_view>(get_subscription{subscription_kind::native, id}));
}

// A subscription `id` as another node wrote it to etcd: active, verified.
subscription remote_record(std::string id) {
  subscription s;
  s.id = std::move(id);
  s.service = "remote";
  s.url = "http://127.0.0.1:9/hook";
  s.verification_required = false;
  s.state = core::subscription_state::active;
  s.verified = true;
  s.public_key = "pk";
  s.private_key = "whsec_remote";
  return s;
}

// The watch's snapshot of /sy/subs/ at `revision`, each of `subs` put at `put_at`.
cluster_subscriptions snapshot_of(int64_t revision, const std::vector<subscription>& subs,
                                  int64_t put_at) {
  cluster_subscriptions snap;
  snap.snapshot = true;
  snap.revision = revision;
  for (const auto& sub : subs)
    snap.changes.push_back(remote_subscription{sub.id, mirror_record(sub), put_at, false});
  return snap;
}

TEST_F(registry_fixture, a_snapshot_of_many_new_subscriptions_is_stored_in_batches) {
  fake_mirror etcd;
  mirror_ = &etcd;
  restart();
  // More than one batch (512), and a local create in between the watch's
  // messages: every one stored under its own journal number, routed, and
  // there after a restart.
  std::vector<subscription> remote;
  char id[32];
  for (int i = 0; i < 1100; ++i) {
    std::snprintf(id, sizeof id, "sub_%012x", i + 1);
    remote.push_back(remote_record(id));
  }
  caf::anon_send(registry_, snapshot_of(5000, remote, 7));
  sched_->run();
  auto local = create(true);
  auto check = [&] {
    auto listed = ask<subscription_list>(list_subscriptions{subscription_kind::native});
    ASSERT_TRUE(listed);
    EXPECT_EQ(listed->items.size(), remote.size() + 1);
    std::set<uint64_t> numbers;
    for (const auto& v : listed->items)
      numbers.insert(v.sub.number);
    EXPECT_EQ(numbers.size(), remote.size() + 1); // no number given twice
    for (const auto* x : {&remote.front(), &remote[511], &remote[512], &remote.back()})
      EXPECT_TRUE(routed(x->id)) << x->id;
    EXPECT_TRUE(routed(local.sub.id));
  };
  check();
  restart();
  check();
}

TEST_F(registry_fixture, applies_what_the_watch_reads_and_a_snapshot_removes_what_it_lacks) {
  fake_mirror etcd;
  mirror_ = &etcd;
  restart();
  auto s = remote_record("sub_0123456789ab");
  s.types = {"billing.*"};
  auto watched = [&](const subscription& sub, int64_t revision, bool deleted = false) {
    cluster_subscriptions m;
    m.changes.push_back(
      remote_subscription{sub.id, deleted ? "" : mirror_record(sub), revision, deleted});
    caf::anon_send(registry_, std::move(m));
    sched_->run();
  };
  auto get = [&] {
    return ask<subscription_view>(get_subscription{subscription_kind::native, s.id});
  };
  watched(s, 5);
  auto got = get();
  ASSERT_TRUE(got);
  EXPECT_EQ(got->sub.service, "remote");
  EXPECT_EQ(got->sub.private_key, "whsec_remote");
  EXPECT_TRUE(routed(s.id));
  EXPECT_TRUE(etcd.records.empty()); // applying is not writing back

  auto older = s;
  older.service = "older";
  watched(older, 4); // stale: ignored
  EXPECT_EQ(get()->sub.service, "remote");
  auto paused = s;
  paused.state = core::subscription_state::paused;
  watched(paused, 6);
  EXPECT_EQ(get()->sub.state, core::subscription_state::paused);

  // Deleted at 8: an older put does not bring it back.
  watched(s, 8, true);
  EXPECT_FALSE(get());
  EXPECT_FALSE(routed(s.id));
  watched(s, 7);
  EXPECT_FALSE(get());

  // A snapshot holding it brings it back; one without it removes it, but
  // not a subscription this node wrote after the snapshot's revision.
  caf::anon_send(registry_, snapshot_of(20, {s}, 12));
  sched_->run();
  ASSERT_TRUE(get());
  etcd.revision = 30;
  auto mine = create(true); // written at revision 31
  caf::anon_send(registry_, snapshot_of(20, {}, 12));
  sched_->run();
  EXPECT_FALSE(get());
  EXPECT_TRUE(ask<subscription_view>(get_subscription{subscription_kind::native, mine.sub.id}));
  EXPECT_TRUE(etcd.erased.empty()); // a reconciliation deletes nothing in etcd
}

TEST_F(registry_fixture, in_cluster_mode_event_types_go_to_etcd_first_and_follow_its_watch) {
  fake_mirror etcd;
  mirror_ = &etcd;
  restart();
  core::event_type_def t;
  t.code = "purchase";
  t.name = "Purchase";
  ASSERT_TRUE(ask<event_type_stored>(put_event_type{t}));
  ASSERT_EQ(etcd.types.count("purchase"), 1u);
  EXPECT_EQ(etcd.types["purchase"], event_type_catalog::record_of(t).second);
  EXPECT_EQ(event_types_.current()->count("purchase"), 1u);

  // etcd out of reach: 503-worthy, nothing changes here.
  etcd.answer = mirror_outcome::kind::unreachable;
  t.code = "refund";
  auto refused = ask<event_type_stored>(put_event_type{t});
  ASSERT_FALSE(refused);
  EXPECT_EQ(kind(refused.error()), errc::unavailable);
  EXPECT_EQ(event_types_.current()->count("refund"), 0u);
  auto kept = ask<event_type_deleted>(delete_event_type{"purchase"});
  ASSERT_FALSE(kept);
  EXPECT_EQ(event_types_.current()->count("purchase"), 1u);
  etcd.answer = mirror_outcome::kind::ok;

  // Another node's put, then a snapshot without "purchase", then a delete.
  auto watched = [&](bool snapshot, std::vector<remote_event_type> changes) {
    cluster_event_types m;
    m.snapshot = snapshot;
    m.changes = std::move(changes);
    caf::anon_send(registry_, std::move(m));
    sched_->run();
  };
  const auto refund = event_type_catalog::record_of(t).second;
  watched(false, {{"refund", refund, false}});
  EXPECT_EQ(event_types_.current()->count("refund"), 1u);
  watched(true, {{"refund", refund, false}});
  EXPECT_EQ(event_types_.current()->count("purchase"), 0u);
  EXPECT_EQ(event_types_.current()->count("refund"), 1u);
  watched(false, {{"refund", "", true}});
  EXPECT_EQ(event_types_.current()->count("refund"), 0u);

  // What the watch applied is stored: a restart reads it.
  watched(false, {{"refund", refund, false}});
  restart();
  EXPECT_EQ(event_types_.current()->count("refund"), 1u);
}

TEST_F(registry_fixture,
       in_cluster_mode_it_is_ready_once_the_first_snapshots_of_etcd_are_routed_and_stored) {
  fake_mirror etcd;
  mirror_ = &etcd;
  ready_.store(false);
  restart();
  // The journal is loaded, but an event taken now would be owed to
  // subscriptions this node has not heard of yet.
  EXPECT_FALSE(ready_.load());
  const auto s = remote_record("sub_00000000000a");
  cluster_subscriptions changes; // a change outside a snapshot does not make it ready
  changes.changes.push_back(remote_subscription{s.id, mirror_record(s), 3, false});
  caf::anon_send(registry_, changes);
  sched_->run();
  EXPECT_FALSE(ready_.load());
  caf::anon_send(registry_, snapshot_of(4, {s}, 3));
  sched_->run();
  EXPECT_TRUE(routed(s.id));
  // Nor before the event types: POST /v1/event would refuse a code
  // registered while this node was down.
  EXPECT_FALSE(ready_.load());
  core::event_type_def t;
  t.code = "refund";
  t.name = "Refund";
  const auto refund = event_type_catalog::record_of(t).second;
  cluster_event_types types; // a change outside a snapshot does not make it ready
  types.changes.push_back(remote_event_type{"refund", refund, false});
  caf::anon_send(registry_, types);
  sched_->run();
  EXPECT_FALSE(ready_.load());
  types.snapshot = true;
  caf::anon_send(registry_, types);
  sched_->run();
  EXPECT_EQ(event_types_.current()->count("refund"), 1u);
  // Nor before the push associations: a sendToList would miss tokens.
  EXPECT_FALSE(ready_.load());
  caf::anon_send(registry_, cluster_associations{true, {}});
  sched_->run();
  EXPECT_TRUE(ready_.load());
}

TEST_F(registry_fixture, in_cluster_mode_associations_go_to_etcd_first_and_follow_its_watch) {
  fake_mirror etcd;
  mirror_ = &etcd;
  restart();
  auto tokens_of = [&](const std::string& cellphone) {
    core::send_to_list_spec spec;
    spec.by_association = true;
    spec.cellphones = {cellphone};
    auto tokens = ask<push_tokens>(resolve_push_tokens{spec});
    EXPECT_TRUE(tokens);
    return tokens ? tokens->tokens : std::vector<std::string>{};
  };
  core::association_spec a;
  a.token = "device/1";
  a.cellphone = "573140000001";
  ASSERT_TRUE(ask<done>(put_association{a}));
  ASSERT_EQ(etcd.associations.count("device/1"), 1u);
  EXPECT_EQ(etcd.associations["device/1"], encode_association(a));
  EXPECT_EQ(tokens_of("573140000001"), std::vector<std::string>{"device/1"});
  EXPECT_EQ(association_etcd_key("device/1"), "/sy/associations/6465766963652f31");

  // etcd out of reach: 503, and nothing changes here.
  etcd.answer = mirror_outcome::kind::unreachable;
  core::association_spec b = a;
  b.token = "device-2";
  auto refused = ask<done>(put_association{b});
  ASSERT_FALSE(refused);
  EXPECT_EQ(kind(refused.error()), errc::unavailable);
  EXPECT_EQ(tokens_of("573140000001"), std::vector<std::string>{"device/1"});
  etcd.answer = mirror_outcome::kind::ok;

  // Another node's association, read from the watch, resolves here and
  // survives a restart (stored in the journal).
  core::association_spec remote;
  remote.token = "device-3";
  remote.email = "ana@example.com";
  caf::anon_send(registry_, cluster_associations{false, {encode_association(remote)}});
  sched_->run();
  core::send_to_list_spec by_email;
  by_email.by_association = true;
  by_email.emails = {"ana@example.com"};
  auto found = ask<push_tokens>(resolve_push_tokens{by_email});
  ASSERT_TRUE(found);
  EXPECT_EQ(found->tokens, std::vector<std::string>{"device-3"});
  EXPECT_TRUE(etcd.associations.count("device-3") == 0); // not written back
  restart();
  found = ask<push_tokens>(resolve_push_tokens{by_email});
  ASSERT_TRUE(found);
  EXPECT_EQ(found->tokens, std::vector<std::string>{"device-3"});
}

// An upgrade: associations taken by a node before they were kept in etcd
// (here: by a single node) are uploaded at its first snapshot, each only
// if etcd has none for its token; etcd's record stands where it has one.
TEST_F(registry_fixture, in_cluster_mode_associations_only_this_node_holds_are_uploaded) {
  restart(); // no mirror: associations go to the journal only
  core::association_spec mine;
  mine.token = "device-mine";
  mine.cellphone = "573140000001";
  core::association_spec both = mine;
  both.token = "device-both";
  ASSERT_TRUE(ask<done>(put_association{mine}));
  ASSERT_TRUE(ask<done>(put_association{both}));

  fake_mirror etcd;
  mirror_ = &etcd;
  etcd.answer = mirror_outcome::kind::unreachable;
  restart();
  core::association_spec theirs = both;
  theirs.cellphone = "573140000002"; // another node's newer record of the token
  caf::anon_send(registry_, cluster_associations{true, {encode_association(theirs)}});
  sched_->run();
  EXPECT_TRUE(ready_.load()); // the upload does not hold readiness
  EXPECT_TRUE(etcd.added.empty()) << "etcd out of reach: nothing written";

  etcd.answer = mirror_outcome::kind::ok;
  etcd.associations["device-both"] = encode_association(theirs);
  restart();
  caf::anon_send(registry_, cluster_associations{true, {encode_association(theirs)}});
  sched_->run();
  EXPECT_EQ(etcd.added, std::vector<std::string>{"device-mine"}) << "retried at the next start";
  EXPECT_EQ(etcd.associations["device-mine"], encode_association(mine));
  EXPECT_EQ(etcd.associations["device-both"], encode_association(theirs));
  core::send_to_list_spec spec;
  spec.by_association = true;
  spec.cellphones = {"573140000002"};
  auto tokens = ask<push_tokens>(resolve_push_tokens{spec});
  ASSERT_TRUE(tokens);
  EXPECT_EQ(tokens->tokens, std::vector<std::string>{"device-both"}); // etcd's record here too

  // Later snapshots (a watch restarted) upload nothing again.
  etcd.added.clear();
  etcd.associations.erase("device-mine");
  caf::anon_send(registry_, cluster_associations{true, {encode_association(theirs)}});
  sched_->run();
  EXPECT_TRUE(etcd.added.empty());
}

} // namespace
} // namespace sy::actors
