#include "app/registry_topic.hpp"

#include <stdlib.h>

#include <filesystem>
#include <iostream>
#include <map>

#include "app/commands.hpp"
#include "storage/workflow_registry.hpp"

namespace gridcase::app {

namespace fs = std::filesystem;

namespace {

kafka::KafkaOptions options_for(const std::string& brokers, const std::string& topic) {
  kafka::KafkaOptions ko;
  ko.brokers = brokers;
  ko.client_id = "gridcase-registry";
  ko.compacted_topics = {topic};
  return ko;
}

Result<KeyValues> read_all(kafka::TopicReader& reader, int timeout_ms) {
  KeyValues out;
  auto done = reader.read_to_end(timeout_ms, [&out](kafka::TopicRecord&& r) {
    out.emplace_back(std::move(r.key), std::move(r.value));
  });
  if (!done.ok()) return done.error();
  return out;
}

Result<size_t> import_into(const std::string& state_dir, const KeyValues& records) {
  if (records.empty()) return size_t{0};
  auto reg = WorkflowRegistry::open(registry_dir(state_dir));
  if (!reg.ok()) return reg.error();
  return reg.value()->import(records);
}

}  // namespace

Result<bool> ensure_registry_topic(const std::string& brokers, const std::string& topic) {
  return kafka::ensure_topics(options_for(brokers, topic), {topic});
}

int with_registry_topic(const std::string& brokers, const std::string& topic, bool publish,
                        const std::function<int(const std::string& state_dir)>& work) {
  auto fail = [](const Error& e) {
    std::cerr << "gridcase: " << e.message << '\n';
    return 2;
  };
  const auto ko = options_for(brokers, topic);
  if (auto r = kafka::ensure_topics(ko, {topic}); !r.ok()) return fail(r.error());
  // The lock first: a writer that took it after us fences us, so what we read below is
  // still the topic's content when our transaction commits (or the commit fails).
  std::unique_ptr<kafka::TopicWriter> writer;
  if (publish) {
    auto w = kafka::TopicWriter::open(ko, "gridcase-registry-" + topic);
    if (!w.ok()) return fail(w.error());
    writer = std::move(w).value();
  }
  auto reader = kafka::TopicReader::open(ko, topic);
  if (!reader.ok()) return fail(reader.error());
  auto records = read_all(*reader.value(), ko.timeout_ms);
  if (!records.ok()) return fail(records.error());
  std::error_code ec;
  std::string tmpl = (fs::temp_directory_path(ec) / "gridcase-registry-XXXXXX").string();
  if (!::mkdtemp(tmpl.data())) return fail(err("cannot create a scratch directory in /tmp"));
  fs::path scratch = tmpl;
  struct Cleanup {
    fs::path p;
    ~Cleanup() {
      std::error_code e;
      fs::remove_all(p, e);
    }
  } cleanup{scratch};
  std::map<std::string, std::string> before;
  if (!records.value().empty()) {
    if (auto r = import_into(scratch.string(), records.value()); !r.ok()) return fail(r.error());
    for (auto& [k, v] : records.value()) before[k] = v;
  }
  const int status = work(scratch.string());
  if (!publish || !WorkflowRegistry::exists(registry_dir(scratch.string()))) return status;
  KeyValues added;
  {
    auto reg = WorkflowRegistry::open(registry_dir(scratch.string()));
    if (!reg.ok()) return fail(reg.error());
    auto after = reg.value()->records();
    if (!after.ok()) return fail(after.error());
    for (auto& [k, v] : after.value()) {
      auto it = before.find(k);
      if (it == before.end() || it->second != v) added.emplace_back(k, v);
    }
  }
  if (added.empty()) return status;
  if (auto r = writer->write(topic, added); !r.ok()) {
    std::cerr << "gridcase: 未发布 not published (another deploy at the same moment? run it "
                 "again): "
              << r.error().message << '\n';
    return 2;
  }
  std::cerr << "已发布到 published to " << topic << ": " << added.size() << " 条记录 record(s)\n";
  return status;
}

Result<std::unique_ptr<RegistryFollower>> RegistryFollower::open(const std::string& brokers,
                                                                 const std::string& topic,
                                                                 std::string state_dir) {
  auto ko = options_for(brokers, topic);
  if (auto r = kafka::ensure_topics(ko, {topic}); !r.ok()) return r.error();
  auto reader = kafka::TopicReader::open(ko, topic);
  if (!reader.ok()) return reader.error();
  std::unique_ptr<RegistryFollower> f(new RegistryFollower());
  f->reader_ = std::move(reader).value();
  f->state_dir_ = std::move(state_dir);
  return f;
}

Result<size_t> RegistryFollower::mirror(int timeout_ms) {
  auto got = reader_->read(10000, timeout_ms);
  if (!got.ok()) return got.error();
  KeyValues records;
  for (auto& r : got.value()) records.emplace_back(std::move(r.key), std::move(r.value));
  return import_into(state_dir_, records);
}

}  // namespace gridcase::app
