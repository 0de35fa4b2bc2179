// gridcase: wiring only. Each subcommand lives in its own file.
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <iostream>

#include "app/commands.hpp"

int main(int argc, char** argv) {
  using namespace gridcase::app;
  // Logs go to stderr: stdout carries data (case events, snapshots) in every subcommand.
  spdlog::set_default_logger(spdlog::stderr_logger_mt("gridcase"));
  CLI::App app{"gridcase — 网格化事件处置流程引擎 (grid case workflow engine)", "gridcase"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "gridcase 0.1.0");

  std::vector<std::string> validate_paths;
  auto* validate =
      app.add_subcommand("validate", "校验流程与组织树 / check workflows and the org tree");
  validate->add_option("paths", validate_paths, "workflow/org files or directories")->required();

  SimulateOptions sim;
  bool no_progress = false;
  auto* simulate = app.add_subcommand(
      "simulate", "按虚拟时间回放事件 / run the engine on virtual time over JSON Lines");
  simulate->add_option("--org", sim.org, "org tree YAML")->required();
  simulate->add_option("--workflows", sim.workflows, "workflow file(s) or directory")->required();
  simulate->add_option("--events", sim.events, "JSON Lines input events (- for stdin)");
  simulate->add_option("--until", sim.until, "move the clock on to this time at the end");
  simulate->add_option("--cases", sim.cases, "write the final cases to this JSON file");
  simulate->add_option("--state-dir", sim.state_dir, "keep state in RocksDB here");
  simulate->add_flag("--no-progress", no_progress, "never show progress");
  simulate->add_flag(
      "--summary", sim.summary,
      "print a summary (cases by level, share closed in grid and village) on stderr");

  GenerateOptions gen;
  auto* generate = app.add_subcommand(
      "generate", "生成模拟上报数据 / write a synthetic, deterministic input stream");
  generate->add_option("--org", gen.org, "org tree YAML")->required();
  generate->add_option("--events", gen.events, "number of lines (reports and actions)")
      ->check(CLI::PositiveNumber);
  generate->add_option("--seed", gen.seed, "random seed (same seed, same bytes)");
  generate->add_option("--start", gen.start, "time of the first event (RFC 3339)");
  generate->add_option("--action-share", gen.action_share, "share of lines that are actions")
      ->check(CLI::Range(0.0, 0.9));
  generate->add_flag("--no-flood-week", gen.no_flood_week, "no June flood-week burst");
  generate->add_option("--out", gen.out, "output file (- for stdout)");

  CasesOptions cases;
  auto* cases_cmd = app.add_subcommand(
      "cases", "导出案件快照 / print the case snapshot of a stopped engine's state");
  cases_cmd->add_option("--org", cases.org, "org tree YAML")->required();
  cases_cmd->add_option("--workflows", cases.workflows, "workflow file(s) or directory")
      ->required();
  cases_cmd->add_option("--state-dir", cases.state_dir, "the engine's state directory")->required();
  cases_cmd->add_option("--out", cases.out, "output file (- for stdout)");

  ServeOptions serve;
  auto* serve_cmd =
      app.add_subcommand("serve", "长期运行的引擎 / run the engine as a service (wall-clock time)");
  serve_cmd->add_option("--config", serve.config, "config file (config/gridcase.yaml)");
  auto* kafka_opt =
      serve_cmd->add_option("--kafka", serve.kafka, "Kafka brokers; empty: the embedded local log");
  serve_cmd->add_option("--state-dir", serve.state_dir, "state directory");
  serve_cmd->add_option("--org", serve.org, "org tree YAML");
  serve_cmd->add_option("--workflows", serve.workflows, "workflow file(s) or directory");
  serve_cmd->add_flag("--until-idle", serve.until_idle, "stop once all input is processed");
  auto* partitions_opt = serve_cmd->add_option("--partitions", serve.partitions,
                                               "partitions of topics created (Kafka)");
  serve_cmd->add_option("--http", serve.http,
                        "HTTP API address HOST:PORT (default: config http.listen)");
  serve_cmd->add_option("--web-root", serve.web_root,
                        "web app directory (default: config http.web_root, else "
                        "connectors/web/dist when built)");

  SubmitOptions submit;
  auto* submit_cmd = app.add_subcommand("submit", "提交输入事件 / send input events (JSON Lines)");
  submit_cmd->add_option("--kafka", submit.kafka, "Kafka brokers");
  submit_cmd->add_option("--topic", submit.topic, "input topic (Kafka)");
  submit_cmd->add_option("--partitions", submit.partitions, "partitions of topics created (Kafka)");
  submit_cmd->add_option("--state-dir", submit.state_dir, "the embedded engine's state directory");
  submit_cmd->add_option("file", submit.file, "JSON Lines file, - for stdin");

  TokenOptions token;
  auto* token_cmd = app.add_subcommand("token", "HTTP 接口访问令牌 / API tokens of the HTTP face");
  token_cmd->require_subcommand(1);
  auto* token_add =
      token_cmd->add_subcommand("add", "创建令牌（只显示一次）/ create a token (shown once)");
  token_add->add_option("--person", token.person, "person id in the org");
  token_add->add_option("--name", token.name, "a label");
  token_add->add_flag("--sms-gateway", token.sms_gateway,
                      "a token for the SMS gateway (no person)");
  token_add->add_option("--org", token.org, "org tree YAML (checks the person)");
  auto* token_list = token_cmd->add_subcommand("list", "列出令牌 / list tokens");
  auto* token_revoke = token_cmd->add_subcommand("revoke", "吊销令牌 / revoke a token");
  token_revoke->add_option("id", token.id, "token id (see list)")->required();
  for (auto* c : {token_add, token_list, token_revoke}) {
    c->add_option("--state-dir", token.state_dir, "the engine's state directory");
  }

  WhatifOptions whatif;
  bool whatif_no_progress = false;
  auto* whatif_cmd = app.add_subcommand(
      "whatif", "规则变更预演：同一输入在新旧规则下并排对比 / replay one input on two rule sets");
  whatif_cmd->add_option("--org", whatif.org, "org tree YAML")->required();
  whatif_cmd->add_option("--workflows", whatif.workflows, "OLD: workflow file(s) or directory")
      ->required();
  whatif_cmd->add_option("--against", whatif.against, "NEW: workflow file(s) or directory")
      ->required();
  whatif_cmd->add_option("--events", whatif.events, "JSON Lines input events (- for stdin)");
  whatif_cmd->add_option("--until", whatif.until, "move the clock on to this time at the end");
  whatif_cmd->add_flag("--json", whatif.json, "JSON instead of the table");
  whatif_cmd->add_option("--html", whatif.html, "also write an HTML report with charts here");
  whatif_cmd->add_flag("--no-progress", whatif_no_progress, "never show progress");

  DeployOptions deploy;
  auto* deploy_cmd = app.add_subcommand(
      "deploy", "校验并发布流程新版本 / validate, then store new workflow versions");
  deploy_cmd->add_option("files", deploy.files, "workflow files or directories")->required();
  deploy_cmd->add_option("--state-dir", deploy.state_dir, "the engine's state directory");
  deploy_cmd->add_option(
      "--kafka", deploy.kafka,
      "Kafka brokers: the registry on the topic gridcase.workflows (all engines)");
  deploy_cmd->add_option("--workflows-topic", deploy.workflows_topic, "the registry's topic");
  deploy_cmd->add_option("--org", deploy.org, "org tree YAML (to check levels and units)");
  deploy_cmd->add_option("--actor", deploy.actor, "who deploys (default: $USER)");

  HistoryOptions history;
  auto* history_cmd = app.add_subcommand("history", "部署记录 / audit records");
  history_cmd->require_subcommand(1);
  auto* history_wf =
      history_cmd->add_subcommand("workflows", "流程部署记录 / who deployed what, when");
  history_wf->add_option("--state-dir", history.state_dir, "the engine's state directory");
  history_wf->add_option(
      "--kafka", history.kafka,
      "Kafka brokers: the registry on the topic gridcase.workflows (all engines)");
  history_wf->add_option("--workflows-topic", history.workflows_topic, "the registry's topic");
  history_wf->add_flag("--json", history.json, "JSON instead of the table");

  DiffOptions diff;
  auto* diff_cmd =
      app.add_subcommand("diff", "比较流程的两个版本 / compare two versions of a workflow");
  diff_cmd->add_option("name", diff.name, "workflow name")->required();
  diff_cmd->add_option("v1", diff.v1, "old version")->required();
  diff_cmd->add_option("v2", diff.v2, "new version")->required();
  diff_cmd->add_option("--state-dir", diff.state_dir, "the engine's state directory");
  diff_cmd->add_option("--kafka", diff.kafka,
                       "Kafka brokers: the registry on the topic gridcase.workflows (all engines)");
  diff_cmd->add_option("--workflows-topic", diff.workflows_topic, "the registry's topic");

  MigrateOptions migrate;
  auto* migrate_cmd = app.add_subcommand(
      "migrate",
      "在办案件迁移到新版本 / move open cases to another version (a running engine does it "
      "between two batches)");
  migrate_cmd->add_option("name", migrate.name, "workflow name")->required();
  migrate_cmd->add_option("--to", migrate.to, "target version")->required();
  migrate_cmd->add_option("--state-dir", migrate.state_dir, "the engine's state directory");
  migrate_cmd->add_option(
      "--kafka", migrate.kafka,
      "Kafka brokers: the registry on the topic gridcase.workflows (all engines)");
  migrate_cmd->add_option("--workflows-topic", migrate.workflows_topic, "the registry's topic");
  migrate_cmd->add_option("--org", migrate.org, "org tree YAML");
  migrate_cmd->add_flag("--dry-run", migrate.dry_run, "list what would change, change nothing");
  migrate_cmd->add_option("--where", migrate.where,
                          "only cases for which this expression holds (case.*, report.*, now)");
  migrate_cmd->add_option("--actor", migrate.actor, "who orders it (default $USER)");
  migrate_cmd->add_option("--wait", migrate.wait_seconds,
                          "seconds to wait for a running engine's report (0: do not wait)");

  ExportOptions exp;
  auto* export_cmd = app.add_subcommand(
      "export", "导出已记录的输入 / recorded input as JSON Lines (for whatif, simulate)");
  export_cmd->add_option("--kafka", exp.kafka, "Kafka brokers: read the topic there");
  export_cmd->add_option("--state-dir", exp.state_dir, "else the embedded log of this state");
  export_cmd->add_option("--topic", exp.topic, "input topic");
  export_cmd->add_option("--from", exp.from, "first time (RFC 3339), by each event's at");
  export_cmd->add_option("--to", exp.to, "end time (RFC 3339, excluded)");
  export_cmd->add_option("--out", exp.out, "output file ('-': stdout)");

  TailOptions tail;
  auto* tail_cmd =
      app.add_subcommand("tail", "查看案件事件 / print case events of the embedded log");
  tail_cmd->add_option("--state-dir", tail.state_dir, "the engine's state directory");
  tail_cmd->add_option("--kafka", tail.kafka, "Kafka brokers: read the topic from the beginning");
  tail_cmd->add_option("--topic", tail.topic, "topic to read");
  tail_cmd->add_flag("--from-beginning", tail.from_beginning, "start at the first event");
  tail_cmd->add_flag("-f,--follow", tail.follow, "keep following new events");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  if (validate->parsed()) return run_validate(validate_paths);
  if (simulate->parsed()) {
    sim.progress = !no_progress;
    return run_simulate(sim);
  }
  if (generate->parsed()) return run_generate(gen);
  if (cases_cmd->parsed()) return run_cases(cases);
  if (serve_cmd->parsed()) {
    serve.kafka_set = kafka_opt->count() > 0;
    serve.partitions_set = partitions_opt->count() > 0;
    int rc = run_serve(serve);
    if (rc == kServeRestart) {
      spdlog::shutdown();  // every log line out before the image is replaced
      std::fflush(nullptr);
      // A new org tree: everything is closed (store, log, sockets, Kafka clients); the
      // same program starts again in this process, with the same arguments and PID.
      ::execv("/proc/self/exe", argv);
      std::perror("gridcase serve: restart (execv)");
      return 1;
    }
    return rc;
  }
  if (whatif_cmd->parsed()) {
    whatif.progress = !whatif_no_progress;
    return run_whatif(whatif);
  }
  if (export_cmd->parsed()) return run_export(exp);
  if (deploy_cmd->parsed()) return run_deploy(deploy);
  if (history_cmd->parsed()) return run_history(history);
  if (diff_cmd->parsed()) return run_diff(diff);
  if (migrate_cmd->parsed()) return run_migrate(migrate);
  if (submit_cmd->parsed()) return run_submit(submit);
  if (tail_cmd->parsed()) return run_tail(tail);
  if (token_cmd->parsed()) {
    token.command = token_add->parsed() ? "add" : token_list->parsed() ? "list" : "revoke";
    return run_token(token);
  }
  return 2;
}
