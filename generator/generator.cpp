#include "generator/generator.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <deque>
#include <nlohmann/json.hpp>
#include <queue>
#include <string>
#include <unordered_map>
#include <utility>

namespace gridcase::gen {
namespace {

using json = nlohmann::ordered_json;

constexpr int64_t kSec = 1000;
constexpr int64_t kMin = 60 * kSec;
constexpr int64_t kHour = 60 * kMin;
constexpr int64_t kDay = 24 * kHour;
constexpr int64_t kLocalOffset = 8 * kHour;  // the county keeps Beijing time (UTC+8)

// ---------------------------------------------------------------------------------------
// Randomness. xoshiro256** seeded through splitmix64: fixed algorithms, so a seed gives the
// same stream everywhere (std:: distributions differ between standard libraries).
class Rng {
 public:
  explicit Rng(uint64_t seed) {
    uint64_t x = seed;
    for (auto& word : s_) word = splitmix(x);
  }
  uint64_t next() {
    const uint64_t result = rotl(s_[1] * 5, 7) * 9;
    const uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
  }
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }  // [0, 1)
  // Inclusive; the modulo bias is far below anything the stream could show.
  int64_t range(int64_t lo, int64_t hi) {
    return lo + static_cast<int64_t>(next() % static_cast<uint64_t>(hi - lo + 1));
  }
  bool chance(double p) { return uniform() < p; }
  double exponential(double mean) { return -std::log1p(-uniform()) * mean; }
  template <typename T>
  const T& pick(const std::vector<T>& v) {
    return v[static_cast<size_t>(range(0, static_cast<int64_t>(v.size()) - 1))];
  }
  // Index drawn from integer weights.
  template <size_t N>
  int weighted(const std::array<int, N>& w) {
    int total = 0;
    for (int x : w) total += x;
    int r = static_cast<int>(range(0, total - 1));
    for (size_t i = 0; i < N; ++i) {
      if (r < w[i]) return static_cast<int>(i);
      r -= w[i];
    }
    return static_cast<int>(N) - 1;
  }

 private:
  static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  static uint64_t splitmix(uint64_t& x) {
    uint64_t z = (x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  std::array<uint64_t, 4> s_{};
};

uint64_t fnv1a(std::string_view s) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : s) h = (h ^ c) * 0x100000001b3ULL;
  return h;
}

// ---------------------------------------------------------------------------------------
// Calendar (days since the epoch <-> civil date; H. Hinnant's algorithms), so the generator
// needs nothing from the engine's time code and can ask for months and local hours.
struct Civil {
  int64_t year;
  int month;
  int day;
};

Civil civil_from_days(int64_t z) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const int64_t doe = z - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  const int day = static_cast<int>(doy - (153 * mp + 2) / 5 + 1);
  const int month = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
  return {yoe + era * 400 + (month <= 2 ? 1 : 0), month, day};
}

int64_t days_from_civil(int64_t y, int m, int d) {
  y -= m <= 2 ? 1 : 0;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int64_t yoe = y - era * 400;
  const int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

int64_t floor_div(int64_t a, int64_t b) {
  return a / b - ((a % b != 0) && ((a < 0) != (b < 0)));
}

// RFC 3339 in UTC with 'Z'; milliseconds only when not zero (as the engine writes times).
void append_time(std::string& out, int64_t ms) {
  const int64_t days = floor_div(ms, kDay);
  const int64_t in_day = ms - days * kDay;
  const Civil c = civil_from_days(days);
  char buf[48];
  const int secs = static_cast<int>(in_day / kSec);
  const int frac = static_cast<int>(in_day % kSec);
  int n = std::snprintf(buf, sizeof buf, "%04lld-%02d-%02dT%02d:%02d:%02d",
                        static_cast<long long>(c.year), c.month, c.day, secs / 3600, secs / 60 % 60,
                        secs % 60);
  if (frac != 0) {
    n += std::snprintf(buf + n, sizeof buf - static_cast<size_t>(n), ".%03d", frac);
    while (buf[n - 1] == '0') --n;
  }
  out.append(buf, static_cast<size_t>(n));
  out.push_back('Z');
}

std::string time_text(int64_t ms) {
  std::string s;
  append_time(s, ms);
  return s;
}

int local_month(int64_t ms) {
  return civil_from_days(floor_div(ms + kLocalOffset, kDay)).month;
}
int local_hour(int64_t ms) {
  const int64_t local = ms + kLocalOffset;
  return static_cast<int>((local - floor_div(local, kDay) * kDay) / kHour);
}

// ---------------------------------------------------------------------------------------
// Categories. Weights are per 1000 reports in the county seat and in the pastoral
// townships; `season` scales them by month.
enum class Season { All, Rainy /* Jun-Sep */, Cold /* Oct-Apr */ };
enum class Scope { Household, Area };
enum class SevProfile { Low, Opinion, Policy, Emergency };

struct CatDef {
  CategoryInfo info;
  double w_seat;
  double w_rural;
  Season season;
  double off_season;  // weight factor outside the season
  Scope scope;
  SevProfile sev;
  double flood_burst;  // weight among the extra reports of the flood week (0 = none)
  std::vector<std::string_view> titles;
  std::vector<std::string_view> burst_titles;  // titles during the flood week, when set
  std::vector<std::string_view> done;          // notes for `resolve`
};

const std::vector<CatDef>& catalog() {
  static const std::vector<CatDef> defs = {
      {{"sanitation", "环境卫生", Flow::GridEscalation},
       130,
       80,
       Season::All,
       1,
       Scope::Area,
       SevProfile::Low,
       0,
       {"垃圾堆积", "生活污水外溢", "公厕脏乱", "牲畜粪便堆放路边", "垃圾箱破损"},
       {},
       {"已清理", "已联系环卫清运", "已督促商户整改"}},
      {{"road", "道路交通", Flow::GridEscalation},
       60,
       90,
       Season::All,
       1,
       Scope::Area,
       SevProfile::Low,
       15,
       {"道路坑洼", "路面结冰", "便桥破损", "道路塌方", "车辆乱停占道"},
       {"道路被洪水冲毁", "涵洞堵塞路面积水", "山体滑坡阻断道路"},
       {"已设置警示标志并报修", "已协调交通部门处理", "已组织清理路面"}},
      {{"facility", "设施管护", Flow::GridEscalation},
       80,
       50,
       Season::All,
       1,
       Scope::Area,
       SevProfile::Low,
       10,
       {"路灯不亮", "供暖管道漏水", "自来水停水", "井盖缺失", "健身器材损坏"},
       {"排水设施损坏", "河边护栏被冲毁", "变压器进水停电"},
       {"已报修并修复", "已更换", "已协调供水供暖单位处理"}},
      {{"public_security", "治安管理", Flow::GridEscalation},
       50,
       40,
       Season::All,
       1,
       Scope::Household,
       SevProfile::Low,
       0,
       {"邻里纠纷", "酒后滋事", "可疑人员", "牲畜被盗", "草场边界纠纷"},
       {},
       {"已调解", "已移交派出所", "双方已达成和解"}},
      {{"noise", "噪声扰民", Flow::GridEscalation},
       40,
       10,
       Season::All,
       1,
       Scope::Household,
       SevProfile::Low,
       0,
       {"夜间施工噪音", "商铺音响扰民", "犬吠扰民"},
       {},
       {"已劝导停止", "已与商户沟通整改"}},
      {{"household_hardship", "困难帮扶", Flow::GridEscalation},
       60,
       70,
       Season::All,
       1,
       Scope::Household,
       SevProfile::Low,
       0,
       {"困难家庭生活无着", "残疾人需帮扶", "冬季取暖困难", "孤儿生活困难"},
       {},
       {"已发放临时救助", "已纳入帮扶台账", "已送去煤炭和米面油"}},
      {{"elderly_care", "养老服务", Flow::GridEscalation},
       50,
       50,
       Season::All,
       1,
       Scope::Household,
       SevProfile::Low,
       0,
       {"独居老人需照料", "高龄补贴咨询", "老人行动不便需上门服务"},
       {},
       {"已安排上门服务", "已办理高龄补贴", "已联系家属"}},
      {{"medical", "就医服务", Flow::GridEscalation},
       40,
       50,
       Season::All,
       1,
       Scope::Household,
       SevProfile::Low,
       0,
       {"慢性病患者取药困难", "医保报销咨询", "孕产妇需随访", "包虫病筛查"},
       {},
       {"已联系卫生院上门", "已协助报销", "已安排随访"}},
      {{"schooling", "就学", Flow::GridEscalation},
       40,
       40,
       Season::All,
       1,
       Scope::Household,
       SevProfile::Low,
       0,
       {"适龄儿童辍学", "转学手续咨询", "寄宿生返校困难"},
       {},
       {"已劝返入学", "已协助办理转学", "已联系学校接送"}},
      {{"employment", "就业指导", Flow::GridEscalation},
       60,
       30,
       Season::All,
       1,
       Scope::Household,
       SevProfile::Low,
       0,
       {"求职登记", "企业用工对接", "技能培训报名", "务工工资拖欠"},
       {},
       {"已推荐岗位", "已报名培训", "已协调企业支付工资"}},
      {{"proxy_service", "为民代办", Flow::GridEscalation},
       90,
       60,
       Season::All,
       1,
       Scope::Household,
       SevProfile::Low,
       0,
       {"代办低保申请", "代办残疾证", "代办医保缴费", "代办身份证补办", "代办临时救助"},
       {},
       {"已代办完成", "材料已提交", "证件已送达"}},
      {{"complaint", "投诉", Flow::GridEscalation},
       40,
       30,
       Season::All,
       1,
       Scope::Household,
       SevProfile::Opinion,
       0,
       {"物业服务不到位", "办事拖延", "商户缺斤短两"},
       {},
       {"已回复当事人", "已督促整改"}},
      {{"suggestion", "意见建议", Flow::GridEscalation},
       30,
       20,
       Season::All,
       1,
       Scope::Household,
       SevProfile::Opinion,
       0,
       {"建议增设公交站点", "建议增加垃圾箱", "建议开设藏汉双语服务窗口"},
       {},
       {"已记录并转相关部门", "已答复"}},
      {{"flood_prevention", "防汛隐患", Flow::GridEscalation},
       15,
       15,
       Season::Rainy,
       0.2,
       Scope::Area,
       SevProfile::Low,
       25,
       {"排水沟堵塞", "河堤隐患", "低洼地带积水", "防汛物资不足"},
       {"河堤出现渗水", "低洼处积水需转移群众", "沙袋告急"},
       {"已疏通", "已加固", "已补充防汛物资"}},
      {{"fire_prevention", "消防隐患", Flow::GridEscalation},
       20,
       20,
       Season::Cold,
       0.5,
       Scope::Area,
       SevProfile::Low,
       0,
       {"消防通道堵塞", "私拉乱接电线", "牛粪堆放离房屋过近", "灭火器过期"},
       {},
       {"已清理通道", "已整改线路", "已更换灭火器"}},
      {{"policy_subsidy", "政策补助", Flow::RelocatedHerders},
       40,
       20,
       Season::All,
       1,
       Scope::Household,
       SevProfile::Policy,
       0,
       {"搬迁补助未到账", "生态管护员工资发放", "低保资金发放咨询"},
       {},
       {"补助已到账", "已协助办理发放手续"}},
      {{"ecological_compensation", "草原生态补奖", Flow::RelocatedHerders},
       30,
       20,
       Season::All,
       1,
       Scope::Household,
       SevProfile::Policy,
       0,
       {"草原生态保护补助奖励未到账", "禁牧补助核对", "草畜平衡奖励咨询"},
       {},
       {"补奖资金已发放", "已核对并更正信息"}},
      {{"hukou_paperwork", "户籍手续", Flow::RelocatedHerders},
       20,
       10,
       Season::All,
       1,
       Scope::Household,
       SevProfile::Policy,
       0,
       {"户口迁移咨询", "开具户籍证明", "居住证办理"},
       {},
       {"证明已开具", "手续已办结"}},
      {{"flood", "汛情", Flow::Emergency},
       4,
       4,
       Season::Rainy,
       0.05,
       Scope::Area,
       SevProfile::Emergency,
       50,
       {"河水漫堤", "房屋进水", "山洪冲毁道路", "桥梁被冲"},
       {},
       {"险情已排除", "群众已安全转移", "水位已回落"}},
      {{"fire", "火情", Flow::Emergency},
       2,
       3,
       Season::Cold,
       0.6,
       Scope::Area,
       SevProfile::Emergency,
       0,
       {"民房失火", "草场火情", "商铺起火"},
       {},
       {"明火已扑灭", "已清理火场"}},
      {{"epidemic", "疫情", Flow::Emergency},
       2,
       2,
       Season::All,
       1,
       Scope::Area,
       SevProfile::Emergency,
       0,
       {"发现发热病人", "排查发现密接人员", "牲畜疑似疫病"},
       {},
       {"已隔离观察", "已消毒并上报疾控", "排查完毕"}},
      {{"snow_disaster", "雪灾", Flow::Emergency},
       2,
       6,
       Season::Cold,
       0,
       Scope::Area,
       SevProfile::Emergency,
       0,
       {"大雪封路牧户被困", "牲畜冻饿死亡", "雪灾缺草料"},
       {},
       {"道路已打通", "饲草料已送达", "被困牧户已转移"}},
  };
  return defs;
}

bool in_season(Season s, int month) {
  switch (s) {
    case Season::All:
      return true;
    case Season::Rainy:
      return month >= 6 && month <= 9;
    case Season::Cold:
      return month >= 10 || month <= 4;
  }
  return true;
}

int draw_severity(Rng& rng, SevProfile p) {
  static constexpr std::array<int, 5> kLow = {40, 30, 17, 9, 4};
  static constexpr std::array<int, 5> kOpinion = {50, 32, 13, 4, 1};
  static constexpr std::array<int, 5> kPolicy = {35, 40, 18, 6, 1};
  static constexpr std::array<int, 5> kEmergency = {0, 5, 30, 40, 25};
  switch (p) {
    case SevProfile::Low:
      return 1 + rng.weighted(kLow);
    case SevProfile::Opinion:
      return 1 + rng.weighted(kOpinion);
    case SevProfile::Policy:
      return 1 + rng.weighted(kPolicy);
    case SevProfile::Emergency:
      return 1 + rng.weighted(kEmergency);
  }
  return 1;
}

// ---------------------------------------------------------------------------------------
// What the generator mirrors of the shipped workflows (workflows/*.yaml). Keep in step.
// Suspended: grid-escalation and relocated-herders `suspended` (挂账), emergency `monitoring`.
enum class State : uint8_t { Handling, Awaiting, Processing, Verifying, Suspended, Closed };

struct Ladder {
  std::vector<std::pair<std::string_view, int64_t>> sla;  // level name -> SLA
  int64_t window;                                         // correlate.window
  int64_t suspend_after;  // a breach at the top this long after reaching it suspends the case
};

const Ladder& ladder(Flow f) {
  static const Ladder grid{{{"grid", 24 * kHour},
                            {"village", 48 * kHour},
                            {"township", 72 * kHour},
                            {"county", 7 * kDay}},
                           24 * kHour,
                           14 * kDay};
  static const Ladder emergency{
      {{"township", 2 * kHour}, {"county", 6 * kHour}}, 6 * kHour, 24 * kHour};
  static const Ladder relocated{
      {{"village", 72 * kHour}, {"township", 5 * kDay}, {"county", 10 * kDay}},
      72 * kHour,
      20 * kDay};
  switch (f) {
    case Flow::GridEscalation:
      return grid;
    case Flow::Emergency:
      return emergency;
    case Flow::RelocatedHerders:
      return relocated;
  }
  return grid;
}

bool sla_runs(State s) {
  return s == State::Handling || s == State::Awaiting || s == State::Processing;
}

enum class Step : uint8_t {
  Accept,
  Comment,
  Resolve,
  Verify,
  Reopen,
  Escalate,
  Return,
  Confirm,
  Decline
};

std::string_view action_name(Step s) {
  switch (s) {
    case Step::Accept:
      return "accept";
    case Step::Comment:
      return "comment";
    case Step::Resolve:
      return "resolve";
    case Step::Verify:
      return "verify";
    case Step::Reopen:
      return "reopen";
    case Step::Escalate:
      return "escalate";
    case Step::Return:
      return "return";
    case Step::Confirm:
      return "confirm_policy";
    case Step::Decline:
      return "decline_policy";
  }
  return "comment";
}

struct Template {
  int weight;
  std::vector<Step> steps;
};

const std::vector<Template>& templates(Flow f) {
  using S = Step;
  static const std::vector<Template> grid = {
      {55, {S::Resolve, S::Verify}},
      {10, {S::Accept, S::Resolve, S::Verify}},
      {8, {S::Comment, S::Resolve, S::Verify}},
      {7, {S::Escalate, S::Resolve, S::Verify}},
      {6, {S::Resolve, S::Reopen, S::Resolve, S::Verify}},
      {6, {S::Return, S::Resolve, S::Verify}},
      {4, {S::Escalate, S::Escalate, S::Resolve, S::Verify}},
      {4, {S::Accept, S::Comment, S::Resolve, S::Verify}},
  };
  static const std::vector<Template> emergency = {
      {45, {S::Comment, S::Resolve, S::Verify}},
      {30, {S::Resolve, S::Verify}},
      {10, {S::Comment, S::Comment, S::Resolve, S::Verify}},
      {7, {S::Accept, S::Resolve, S::Verify}},
      {4, {S::Escalate, S::Resolve, S::Verify}},
      {4, {S::Resolve, S::Reopen, S::Resolve, S::Verify}},
  };
  static const std::vector<Template> relocated = {
      {60, {S::Confirm, S::Resolve, S::Verify}},
      {12, {S::Comment, S::Confirm, S::Resolve, S::Verify}},
      {10, {S::Decline, S::Resolve, S::Verify}},
      {6, {S::Confirm, S::Resolve, S::Reopen, S::Resolve, S::Verify}},
      {6, {S::Escalate, S::Confirm, S::Resolve, S::Verify}},
      {6, {S::Confirm, S::Comment, S::Resolve, S::Verify}},
  };
  switch (f) {
    case Flow::GridEscalation:
      return grid;
    case Flow::Emergency:
      return emergency;
    case Flow::RelocatedHerders:
      return relocated;
  }
  return grid;
}

// How long after the case's previous line an action comes.
int64_t step_delay(Rng& rng, Flow f, Step s) {
  auto d = [&](int64_t at_least, double mean) {
    return at_least + static_cast<int64_t>(rng.exponential(mean));
  };
  if (f == Flow::Emergency) {
    switch (s) {
      case Step::Accept:
        return d(5 * kMin, 15 * kMin);
      case Step::Comment:
        return d(10 * kMin, 30 * kMin);
      case Step::Escalate:
        return d(20 * kMin, 40 * kMin);
      case Step::Resolve:
        return d(30 * kMin, 90 * kMin);
      case Step::Verify:
        return d(30 * kMin, 4 * kHour);
      default:
        return d(30 * kMin, 2 * kHour);
    }
  }
  if (f == Flow::RelocatedHerders) {
    switch (s) {
      case Step::Confirm:
      case Step::Decline:
        return d(2 * kHour, 30 * kHour);
      case Step::Comment:
        return d(1 * kHour, 10 * kHour);
      case Step::Escalate:
        return d(4 * kHour, 20 * kHour);
      case Step::Resolve:
        return d(1 * kHour, 24 * kHour);
      case Step::Verify:
        return d(2 * kHour, 20 * kHour);
      default:
        return d(2 * kHour, 12 * kHour);
    }
  }
  switch (s) {
    case Step::Accept:
      return d(10 * kMin, 1 * kHour);
    case Step::Comment:
      return d(30 * kMin, 4 * kHour);
    case Step::Escalate:
      return d(1 * kHour, 5 * kHour);
    case Step::Return:
      return d(1 * kHour, 4 * kHour);
    case Step::Resolve:
      return d(20 * kMin, 10 * kHour);
    case Step::Verify:
      return d(1 * kHour, 8 * kHour);
    default:
      return d(1 * kHour, 6 * kHour);
  }
}

// Notes, by action.
const std::vector<std::string_view> kVerifyNotes = {"核查属实，同意结案", "回访群众满意",
                                                    "现场核查已办结"};
const std::vector<std::string_view> kReopenNotes = {
    "回访群众不满意，重新办理", "现场核查未整改到位", "材料不全，请补充后重新办理"};
const std::vector<std::string_view> kReturnNotes = {
    "属网格职责范围，退回网格办理", "请先入户核实情况", "请补充现场照片后办理", "请网格长牵头协调"};
const std::vector<std::string_view> kEscalateNotes = {"网格无法协调，提请上级处理",
                                                      "涉及多户，需上级协调", "需相关部门配合"};
const std::vector<std::string_view> kCommentNotes = {"已电话联系当事人", "已入户走访",
                                                     "正在协调相关部门", "已拍照登记"};
const std::vector<std::string_view> kEmergencyComments = {
    "现场水位仍在上涨，已转移群众", "已组织人员巡查", "已设置警戒线", "救援力量已到场"};
const std::vector<std::string_view> kConfirmNotes = {"经核实，该户户籍在本乡，政策待遇属实",
                                                     "已核对户籍与补助名册"};
const std::vector<std::string_view> kDeclineNotes = {"经核实不符合补助条件", "该户已在户籍地领取"};

std::string_view channel_prefix(std::string_view channel) {
  if (channel == "sms") return "短信上报：";
  if (channel == "batch") return "离线台账补录：";
  if (channel == "hotline") return "群众来电反映：";
  if (channel == "web") return "网上留言：";
  return "网格员走访发现：";
}

// Rough township centres of the sample org; other units get a place inside the county.
std::pair<double, double> township_centre(std::string_view id) {
  if (id == "jiajiboluo") return {33.852, 95.613};
  if (id == "suojia") return {34.330, 92.980};
  if (id == "zhahe") return {34.100, 95.200};
  if (id == "duocai") return {33.700, 95.950};
  if (id == "zhiqu") return {33.620, 95.350};
  if (id == "lixin") return {33.900, 96.100};
  const uint64_t h = fnv1a(id);
  return {33.0 + static_cast<double>(h % 2000) / 1000.0,
          92.5 + static_cast<double>((h >> 20) % 4000) / 1000.0};
}

// A coordinate near `centre` (within 0.005 degrees), at five decimals. nlohmann's number
// printer (Grisu2) now and then writes such a value with 17 digits; the next 1e-5 step is
// taken then, so every coordinate reads like one a phone would send.
double coordinate(double centre, double u) {
  const double base = std::round((centre + (u - 0.5) * 0.01) * 1e5);
  for (int step = 0; step < 8; ++step) {
    const double v = (base + step) / 1e5;
    if (json(v).dump().size() <= 10) return v;
  }
  return base / 1e5;
}

// ---------------------------------------------------------------------------------------
struct GridInfo {
  UnitIdx unit = kNoUnit;
  int64_t households = 100;
  UnitIdx township = kNoUnit;
  bool seat = false;
  double lat = 0, lon = 0;
  std::vector<int> workers;  // people (grid workers first choice) reporting from this grid
};

struct Actor {
  const std::string* id = nullptr;
  const std::string* unit = nullptr;  // set only for a synthetic actor (no `people` entry)
};

struct Case {
  std::string id;
  uint32_t grid = 0;
  uint8_t cat = 0;
  uint8_t severity = 1;
  Flow flow = Flow::GridEscalation;
  State state = State::Handling;
  int level = 0;
  int64_t clock_since = 0;  // start of the running SLA period
  int64_t level_since = 0;  // when the level last changed (case.level_since)
  int64_t last_report = 0;
  int report_count = 1;
  int32_t household = 0;  // 0: the report named none
  UnitIdx co_unit = kNoUnit;
  std::string_view title;  // of the opening report (catalog text)
  std::array<Step, 16> plan{};
  uint8_t plan_len = 0;
  uint8_t pos = 0;
  bool in_use = false;
};

struct Due {
  int64_t at;
  uint64_t seq;
  uint32_t slot;
  bool operator>(const Due& o) const { return at != o.at ? at > o.at : seq > o.seq; }
};

class Generator {
 public:
  Generator(const Org& org, const Options& opt, std::ostream& out)
      : org_(org), opt_(opt), out_(out), rng_(opt.seed) {
    setup();
  }
  void run();

 private:
  void setup();
  void build_people();
  void build_ladders();
  int64_t next_arrival(int64_t t);
  double rate_at(int64_t t) const;
  bool in_flood_week(int64_t t) const { return flood_on_ && t >= flood_from_ && t < flood_to_; }

  void emit_report(int64_t now);
  bool emit_repeat(int64_t now);
  void open_case(int64_t now, uint32_t grid, uint8_t cat, int severity, int64_t affected,
                 int32_t household, UnitIdx co_unit, std::string_view title,
                 const std::string& report_id);
  void run_action(const Due& due);
  void settle(Case& c, int64_t t) const;
  int64_t sla_of(const Case& c) const;
  int64_t schedule_time(const Case& c, int64_t now, Step s);

  Actor grid_worker(uint32_t grid);
  Actor assignee(const Case& c);
  std::optional<Actor> supervisor(const Case& c);
  Actor unit_person(UnitIdx u);
  Actor synthetic(UnitIdx u) {
    return {&synthetic_ids_[static_cast<size_t>(u)], &org_.units[static_cast<size_t>(u)].id};
  }
  UnitIdx current_unit(const Case& c) const {
    return org_.ancestor_at(grids_[c.grid].unit, c.level);
  }

  uint32_t pick_grid(const std::vector<int64_t>& cumulative, const std::vector<uint32_t>& ids);
  const std::vector<double>& month_weights(bool seat, int month);
  std::string guard_key(uint32_t grid, uint8_t cat, int32_t household) const;
  bool guarded(const std::string& key, int64_t now);
  void touch(const std::string& key, int64_t now);

  void write_line(const json& j);

  const Org& org_;
  const Options& opt_;
  std::ostream& out_;
  Rng rng_;

  std::vector<GridInfo> grids_;
  std::vector<int64_t> grid_cum_;  // cumulative households, for drawing a grid
  std::vector<uint32_t> grid_ids_;
  std::vector<int64_t> flood_cum_;
  std::vector<uint32_t> flood_ids_;
  std::vector<UnitIdx> townships_;
  int lv_village_ = 0, lv_township_ = 0, top_ = 0;
  std::array<std::vector<int64_t>, 3> sla_;  // [flow][org level] -> ms, 0 = no clock
  int64_t guard_span_ = 0;

  std::vector<std::vector<int>> officers_;  // per unit: people with *_officer / grid_head roles
  std::vector<std::vector<int>> members_;   // per unit: everyone but admins
  std::vector<std::string> synthetic_ids_;

  double base_rate_ = 0;   // reports per ms, averaged over the day
  double burst_rate_ = 0;  // extra flood-week reports per ms
  double rate_max_ = 0;
  std::array<double, 24> diurnal_{};
  bool flood_on_ = false;
  int64_t flood_from_ = 0, flood_to_ = 0;

  int cached_month_ = -1;
  std::vector<double> cum_seat_, cum_rural_;
  std::vector<double> burst_cum_;

  std::vector<Case> pool_;
  std::vector<uint32_t> free_;
  uint32_t high_water_ = 0;
  std::priority_queue<Due, std::vector<Due>, std::greater<>> due_;
  uint64_t due_seq_ = 0;

  std::unordered_map<std::string, int64_t> last_use_;
  std::deque<std::pair<int64_t, std::string>> uses_;

  int64_t lines_ = 0;
  int64_t reports_ = 0;
  int64_t actions_planned_ = 0;
  int64_t next_report_id_ = 1;
  int64_t next_action_id_ = 1;
  std::string line_;
};

void Generator::setup() {
  const int lv_count = static_cast<int>(org_.levels.size());
  top_ = std::max(0, lv_count - 1);
  auto level_or = [&](std::string_view name, int fallback) {
    const int i = org_.level_index(name);
    return i >= 0 ? i : std::min(fallback, top_);
  };
  lv_village_ = level_or("village", 1);
  lv_township_ = level_or("township", 2);
  build_ladders();

  // Townships, and the county seat: the township with the most grids.
  const int tl = org_.level_index("township");
  for (size_t u = 0; u < org_.units.size(); ++u) {
    if (tl >= 0 && org_.units[u].level == tl) townships_.push_back(static_cast<UnitIdx>(u));
  }
  std::unordered_map<UnitIdx, int> grids_in;
  for (UnitIdx g : org_.grids()) {
    if (tl >= 0) ++grids_in[org_.ancestor_at(g, tl)];
  }
  UnitIdx seat = kNoUnit;
  int most = 0;
  for (UnitIdx t : townships_) {
    if (grids_in[t] > most) most = grids_in[t], seat = t;
  }

  build_people();
  int64_t total = 0;
  for (UnitIdx g : org_.grids()) {
    GridInfo gi;
    gi.unit = g;
    const Unit& unit = org_.units[static_cast<size_t>(g)];
    gi.households = unit.households.value_or(100);
    if (gi.households < 1) gi.households = 1;
    gi.township = tl >= 0 ? org_.ancestor_at(g, tl) : kNoUnit;
    if (gi.township != kNoUnit && org_.units[static_cast<size_t>(gi.township)].level != tl) {
      gi.township = kNoUnit;
    }
    gi.seat = gi.township != kNoUnit && gi.township == seat;
    const auto [clat, clon] = township_centre(
        gi.township != kNoUnit ? std::string_view(org_.units[static_cast<size_t>(gi.township)].id)
                               : std::string_view(unit.id));
    const uint64_t h = fnv1a(unit.id);
    const double spread = gi.seat ? 0.03 : 0.3;
    gi.lat = clat + (static_cast<double>(h % 1000) / 1000.0 - 0.5) * spread;
    gi.lon = clon + (static_cast<double>((h >> 16) % 1000) / 1000.0 - 0.5) * spread;
    std::vector<int> workers, others;
    for (int p : members_[static_cast<size_t>(g)]) {
      (org_.people[static_cast<size_t>(p)].role == "grid_worker" ? workers : others).push_back(p);
    }
    gi.workers = workers.empty() ? others : workers;
    total += gi.households;
    grid_cum_.push_back(total);
    grid_ids_.push_back(static_cast<uint32_t>(grids_.size()));
    grids_.push_back(std::move(gi));
  }

  // Reporting rate over the day (local time): busy office hours, quiet nights.
  static constexpr std::array<double, 24> kShape = {0.15, 0.15, 0.15, 0.15, 0.15, 0.15, 0.15, 0.6,
                                                    1.5,  1.5,  1.5,  1.5,  1.0,  1.0,  1.5,  1.5,
                                                    1.5,  1.5,  1.5,  0.8,  0.8,  0.8,  0.3,  0.3};
  double sum = 0;
  for (double x : kShape) sum += x;
  for (size_t i = 0; i < 24; ++i) diurnal_[i] = kShape[i] * 24.0 / sum;
  // A positive normal rate keeps reports coming whatever the options say.
  const double per_household = opt_.reports_per_household_day > 0
                                   ? opt_.reports_per_household_day
                                   : Options{}.reports_per_household_day;
  base_rate_ = static_cast<double>(total) * per_household / kDay;

  // The flood week: a few townships (drawn from the seed) get many extra flood reports.
  if (opt_.flood_week && !townships_.empty() && opt_.flood_townships > 0 && opt_.flood_factor > 0) {
    std::vector<UnitIdx> hit = townships_;
    for (size_t i = hit.size(); i > 1; --i) {
      std::swap(hit[i - 1], hit[static_cast<size_t>(rng_.range(0, static_cast<int64_t>(i) - 1))]);
    }
    hit.resize(std::min(hit.size(), static_cast<size_t>(opt_.flood_townships)));
    int64_t flood_total = 0;
    for (uint32_t i = 0; i < grids_.size(); ++i) {
      if (std::find(hit.begin(), hit.end(), grids_[i].township) == hit.end()) continue;
      flood_total += grids_[i].households;
      flood_cum_.push_back(flood_total);
      flood_ids_.push_back(i);
    }
    if (flood_total > 0) {
      flood_on_ = true;
      if (opt_.flood_week_start) {
        flood_from_ = opt_.flood_week_start->ms;
      } else {
        const Civil c = civil_from_days(floor_div(opt_.start.ms, kDay));
        int64_t june8 = days_from_civil(c.year, 6, 8) * kDay;
        if (june8 < opt_.start.ms) june8 = days_from_civil(c.year + 1, 6, 8) * kDay;
        flood_from_ = june8;
      }
      flood_to_ = flood_from_ + 7 * kDay;
      burst_rate_ = opt_.flood_factor * static_cast<double>(flood_total) * per_household / kDay;
      double bsum = 0;
      for (const auto& d : catalog()) burst_cum_.push_back(bsum += d.flood_burst);
    }
  }
  double dmax = 0;
  for (double x : diurnal_) dmax = std::max(dmax, x);
  rate_max_ = base_rate_ * dmax + burst_rate_;

  pool_.reserve(std::min<size_t>(std::max<size_t>(opt_.max_open_cases, 1), 4096));
}

void Generator::build_ladders() {
  const size_t n = org_.levels.size();
  int64_t widest = 0;
  for (int f = 0; f < 3; ++f) {
    const Ladder& l = ladder(static_cast<Flow>(f));
    sla_[static_cast<size_t>(f)].assign(n, 0);
    for (const auto& [name, ms] : l.sla) {
      const int i = org_.level_index(name);
      if (i >= 0) sla_[static_cast<size_t>(f)][static_cast<size_t>(i)] = ms;
    }
    widest = std::max(widest, l.window);
  }
  guard_span_ = widest + kHour;
}

void Generator::build_people() {
  officers_.assign(org_.units.size(), {});
  members_.assign(org_.units.size(), {});
  synthetic_ids_.clear();
  for (const Unit& u : org_.units) synthetic_ids_.push_back("sys-" + u.id);
  for (size_t i = 0; i < org_.people.size(); ++i) {
    const Person& p = org_.people[i];
    const UnitIdx u = org_.find_unit(p.unit);
    if (u == kNoUnit || p.role == "admin") continue;
    members_[static_cast<size_t>(u)].push_back(static_cast<int>(i));
    const std::string_view role = p.role;
    if (role.ends_with("_officer") || role == "grid_head") {
      officers_[static_cast<size_t>(u)].push_back(static_cast<int>(i));
    }
  }
}

double Generator::rate_at(int64_t t) const {
  double r = base_rate_ * diurnal_[static_cast<size_t>(local_hour(t))];
  if (in_flood_week(t)) r += burst_rate_;
  return r;
}

// Next report time after t: a Poisson process thinned to the day's shape (whole seconds).
int64_t Generator::next_arrival(int64_t t) {
  if (rate_max_ <= 0) return t + kDay;
  for (;;) {
    const int64_t gap = static_cast<int64_t>(rng_.exponential(1.0 / rate_max_)) / kSec * kSec;
    t += gap;
    if (rng_.uniform() * rate_max_ < rate_at(t)) return t;
  }
}

uint32_t Generator::pick_grid(const std::vector<int64_t>& cumulative,
                              const std::vector<uint32_t>& ids) {
  const int64_t r = rng_.range(0, cumulative.back() - 1);
  const auto it = std::upper_bound(cumulative.begin(), cumulative.end(), r);
  return ids[static_cast<size_t>(it - cumulative.begin())];
}

const std::vector<double>& Generator::month_weights(bool seat, int month) {
  if (month != cached_month_) {
    cached_month_ = month;
    cum_seat_.clear();
    cum_rural_.clear();
    double a = 0, b = 0;
    for (const auto& d : catalog()) {
      const double f = in_season(d.season, month) ? 1.0 : d.off_season;
      cum_seat_.push_back(a += d.w_seat * f);
      cum_rural_.push_back(b += d.w_rural * f);
    }
  }
  return seat ? cum_seat_ : cum_rural_;
}

std::string Generator::guard_key(uint32_t grid, uint8_t cat, int32_t household) const {
  std::string k = std::to_string(grid);
  k += '|';
  k += std::to_string(cat);
  k += '|';
  k += std::to_string(household);
  return k;
}

// A correlation key used within the widest window could merge a new report into an open
// case; such a report is not sure to open a case of its own, so it must not be used.
bool Generator::guarded(const std::string& key, int64_t now) {
  while (!uses_.empty() && uses_.front().first < now - guard_span_) {
    auto it = last_use_.find(uses_.front().second);
    if (it != last_use_.end() && it->second == uses_.front().first) last_use_.erase(it);
    uses_.pop_front();
  }
  return last_use_.contains(key);
}

void Generator::touch(const std::string& key, int64_t now) {
  last_use_[key] = now;
  uses_.emplace_back(now, key);
}

void Generator::write_line(const json& j) {
  line_ = j.dump();
  line_.push_back('\n');
  out_.write(line_.data(), static_cast<std::streamsize>(line_.size()));
  ++lines_;
}

// ---------------------------------------------------------------------------------------
// Mirror of the workflows' clocks: the level a case has reached at time t if nobody acted.
int64_t Generator::sla_of(const Case& c) const {
  const auto& s = sla_[static_cast<size_t>(c.flow)];
  return static_cast<size_t>(c.level) < s.size() ? s[static_cast<size_t>(c.level)] : 0;
}

void Generator::settle(Case& c, int64_t t) const {
  if (!sla_runs(c.state)) return;
  for (;;) {
    const int64_t sla = sla_of(c);
    const int64_t due = c.clock_since + sla;
    if (sla <= 0 || t < due) return;
    c.clock_since = due;
    if (c.level < top_) {
      ++c.level;
      c.level_since = due;
    } else if (due - c.level_since >= ladder(c.flow).suspend_after) {
      c.state = State::Suspended;  // at the top: suspended after long enough, else timed again
      return;
    }
  }
}

Actor Generator::grid_worker(uint32_t grid) {
  const GridInfo& g = grids_[grid];
  if (g.workers.empty()) return synthetic(g.unit);
  return {&org_.people[static_cast<size_t>(rng_.pick(g.workers))].id, nullptr};
}

Actor Generator::unit_person(UnitIdx u) {
  const auto& off = officers_[static_cast<size_t>(u)];
  if (!off.empty()) return {&org_.people[static_cast<size_t>(rng_.pick(off))].id, nullptr};
  const auto& mem = members_[static_cast<size_t>(u)];
  if (!mem.empty()) return {&org_.people[static_cast<size_t>(rng_.pick(mem))].id, nullptr};
  return synthetic(u);
}

// Someone in the case's current unit (or below it): passes `by: assignee`.
Actor Generator::assignee(const Case& c) {
  const UnitIdx u = current_unit(c);
  if (u == grids_[c.grid].unit) return grid_worker(c.grid);
  if (!officers_[static_cast<size_t>(u)].empty() || !members_[static_cast<size_t>(u)].empty()) {
    return unit_person(u);
  }
  return grid_worker(c.grid);
}

// Someone strictly above the current unit: passes `by: supervisor`. None at the top.
std::optional<Actor> Generator::supervisor(const Case& c) {
  const UnitIdx u = current_unit(c);
  const UnitIdx parent = org_.units[static_cast<size_t>(u)].parent;
  if (parent == kNoUnit) return std::nullopt;
  for (UnitIdx p = parent; p != kNoUnit; p = org_.units[static_cast<size_t>(p)].parent) {
    if (!officers_[static_cast<size_t>(p)].empty() || !members_[static_cast<size_t>(p)].empty()) {
      return unit_person(p);
    }
  }
  return synthetic(parent);
}

// ---------------------------------------------------------------------------------------
void Generator::emit_report(int64_t now) {
  if (rng_.chance(opt_.repeat_share) && emit_repeat(now)) return;

  const auto& defs = catalog();
  const bool burst =
      in_flood_week(now) && !flood_ids_.empty() && rng_.uniform() * rate_at(now) < burst_rate_;
  uint32_t grid;
  uint8_t cat;
  if (burst) {
    grid = pick_grid(flood_cum_, flood_ids_);
    const double r = rng_.uniform() * burst_cum_.back();
    cat = static_cast<uint8_t>(std::upper_bound(burst_cum_.begin(), burst_cum_.end(), r) -
                               burst_cum_.begin());
  } else {
    grid = pick_grid(grid_cum_, grid_ids_);
    const auto& cum = month_weights(grids_[grid].seat, local_month(now));
    const double r = rng_.uniform() * cum.back();
    cat = static_cast<uint8_t>(std::upper_bound(cum.begin(), cum.end(), r) - cum.begin());
  }
  cat = std::min<uint8_t>(cat, static_cast<uint8_t>(defs.size() - 1));
  const CatDef& def = defs[cat];
  const GridInfo& g = grids_[grid];

  int severity = draw_severity(rng_, def.sev);
  if (burst && def.sev != SevProfile::Emergency) severity = std::min(5, severity + 1);
  int64_t affected = 1;
  if (def.scope == Scope::Area) {
    const double r = rng_.uniform();
    const bool big = def.sev == SevProfile::Emergency;
    if (r < (big ? 0.5 : 0.72)) {
      affected = rng_.range(1, 5);
    } else if (r < (big ? 0.8 : 0.92)) {
      affected = rng_.range(6, 19);
    } else {
      affected = rng_.range(20, big ? 150 : 60);
    }
  }

  // A household whose key is free: the report then surely opens a case of its own.
  int32_t household = 0;
  if (def.scope == Scope::Household || rng_.chance(0.85)) {
    for (int tries = 0; tries < 8 && household == 0; ++tries) {
      const auto h = static_cast<int32_t>(rng_.range(1, g.households));
      if (!guarded(guard_key(grid, cat, h), now)) household = h;
    }
  }
  UnitIdx co_unit = kNoUnit;
  if (def.info.flow == Flow::RelocatedHerders && g.seat && townships_.size() > 1 &&
      rng_.chance(0.8)) {
    do {
      co_unit = rng_.pick(townships_);
    } while (co_unit == g.township);
  }

  std::string id = "r-";
  {
    char buf[24];
    std::snprintf(buf, sizeof buf, "%08lld", static_cast<long long>(next_report_id_++));
    id += buf;
  }
  static const std::vector<std::string_view> kChannelsSeat = {
      "app", "app", "app", "app", "app", "app", "web", "web", "sms", "batch", "hotline", "hotline"};
  static const std::vector<std::string_view> kChannelsRural = {
      "app", "app", "app", "sms", "sms", "sms", "batch", "batch", "batch", "hotline"};
  const std::string_view channel = rng_.pick(g.seat ? kChannelsSeat : kChannelsRural);
  int64_t lag;
  if (channel == "batch") {
    lag = rng_.range(6 * 3600, 5 * 86400) * kSec;
  } else if (channel == "sms") {
    lag = rng_.range(5 * 60, 6 * 3600) * kSec;
  } else {
    lag = rng_.range(60, 2 * 3600) * kSec;
  }
  const std::string_view title =
      burst && !def.burst_titles.empty() ? rng_.pick(def.burst_titles) : rng_.pick(def.titles);

  json report;
  report["report_id"] = id;
  report["grid"] = org_.units[static_cast<size_t>(g.unit)].id;
  if (!g.workers.empty())
    report["reporter"] = org_.people[static_cast<size_t>(rng_.pick(g.workers))].id;
  report["category"] = def.info.name;
  report["severity"] = severity;
  report["title"] = title;
  std::string desc(channel_prefix(channel));
  desc += title;
  desc += "。";
  report["description"] = std::move(desc);
  report["occurred_at"] = time_text(now - lag);
  report["households_affected"] = affected;
  if (household != 0) {
    char buf[24];
    std::snprintf(buf, sizeof buf, "h-%04d", household);
    report["household"] = buf;
  }
  if (co_unit != kNoUnit) report["hukou_township"] = org_.units[static_cast<size_t>(co_unit)].id;
  report["channel"] = channel;
  report["location"] = {{"lat", coordinate(g.lat, rng_.uniform())},
                        {"lon", coordinate(g.lon, rng_.uniform())}};
  const std::string_view name = def.info.name;
  if (name == "flood") {
    report["data"] = {{"water_level_cm", rng_.range(20, 180)}};
  } else if (name == "snow_disaster") {
    report["data"] = {{"snow_depth_cm", rng_.range(15, 80)},
                      {"livestock_at_risk", rng_.range(20, 600)}};
  } else if (name == "household_hardship") {
    report["data"] = {{"ledger", "household"}, {"assistance_target", rng_.chance(0.6)}};
  } else if (name == "employment") {
    static const std::vector<std::string_view> kEmployers = {"阿米雪乳业", "靖康新村", "县城商铺",
                                                             "建筑工地"};
    report["data"] = {{"employer", rng_.pick(kEmployers)}};
  }
  json line;
  line["type"] = "report";
  line["at"] = time_text(now);
  line["report"] = std::move(report);
  write_line(line);
  ++reports_;

  if (household != 0) touch(guard_key(grid, cat, household), now);
  open_case(now, grid, cat, severity, affected, household, co_unit, title, id);
}

// Opens the generator's record of a case when the action budget allows a plan for it.
void Generator::open_case(int64_t now, uint32_t grid, uint8_t cat, int severity, int64_t affected,
                          int32_t household, UnitIdx co_unit, std::string_view title,
                          const std::string& report_id) {
  const double share = std::clamp(opt_.action_share, 0.0, 0.9);
  if (share <= 0) return;
  const double per_report = share / (1.0 - share);
  const double budget =
      per_report * static_cast<double>(reports_) + 2.0 - static_cast<double>(actions_planned_);
  if (budget < 2.0) return;
  const bool full = free_.empty() && high_water_ >= std::max<size_t>(opt_.max_open_cases, 1);
  if (full) return;

  const CatDef& def = catalog()[cat];
  Case c;
  c.id = report_id;
  c.grid = grid;
  c.cat = cat;
  c.severity = static_cast<uint8_t>(severity);
  c.household = household;
  c.co_unit = co_unit;
  c.title = title;
  c.flow = co_unit != kNoUnit                        ? Flow::RelocatedHerders
           : def.info.flow == Flow::RelocatedHerders ? Flow::GridEscalation
                                                     : def.info.flow;
  // Mirror of each workflow's `triage` state.
  switch (c.flow) {
    case Flow::Emergency:
      c.level = lv_township_;
      c.state = State::Handling;
      break;
    case Flow::RelocatedHerders:
      c.level = lv_village_;
      c.state = State::Awaiting;
      break;
    case Flow::GridEscalation: {
      const std::string_view n = def.info.name;
      const bool major = severity >= 4 || affected >= 20 ||
                         ((n == "public_security" || n == "household_hardship") && severity >= 3);
      c.level = major ? lv_village_ : 0;
      c.state = State::Handling;
      break;
    }
  }
  c.clock_since = now;
  c.level_since = now;
  c.last_report = now;
  c.in_use = true;

  const auto& tpls = templates(c.flow);
  int total = 0;
  for (const auto& t : tpls) total += t.weight;
  int r = static_cast<int>(rng_.range(0, total - 1));
  const Template* tpl = &tpls.back();
  for (const auto& t : tpls) {
    if (r < t.weight) {
      tpl = &t;
      break;
    }
    r -= t.weight;
  }
  std::vector<Step> steps;
  if (tpl->steps.front() == Step::Return && c.level == 0) steps.push_back(Step::Escalate);
  steps.insert(steps.end(), tpl->steps.begin(), tpl->steps.end());
  // A high action share is met with more comments along the way.
  while (steps.size() < c.plan.size() && static_cast<double>(steps.size() + 1) <= budget - 4.0) {
    const auto at = rng_.range(0, static_cast<int64_t>(steps.size()) - 1);
    steps.insert(steps.begin() + at, Step::Comment);
  }
  c.plan_len = static_cast<uint8_t>(steps.size());
  std::copy(steps.begin(), steps.end(), c.plan.begin());
  actions_planned_ += c.plan_len;

  uint32_t slot;
  if (!free_.empty()) {
    slot = free_.back();
    free_.pop_back();
  } else {
    slot = high_water_++;
    pool_.emplace_back();
  }
  pool_[slot] = std::move(c);
  due_.push({schedule_time(pool_[slot], now, pool_[slot].plan[0]), due_seq_++, slot});
}

// When the next step of a case happens: after its delay, and for ordinary matters during
// working hours (08:00-21:00 local); emergencies are handled around the clock.
int64_t Generator::schedule_time(const Case& c, int64_t now, Step s) {
  int64_t t = now + step_delay(rng_, c.flow, s) / kSec * kSec;
  if (c.flow != Flow::Emergency) {
    const int h = local_hour(t);
    if (h < 8 || h >= 21) {
      const int64_t local = t + kLocalOffset;
      int64_t morning = floor_div(local, kDay) * kDay + 8 * kHour - kLocalOffset;
      if (h >= 21) morning += kDay;
      t = morning + rng_.range(0, 120 * 60) * kSec;
    }
  }
  return t;
}

// A report repeating an open case (same grid, category, household, within the window): it
// merges, so its id names no case and is never acted on.
bool Generator::emit_repeat(int64_t now) {
  for (int tries = 0; tries < 8 && high_water_ > 0; ++tries) {
    Case& c = pool_[static_cast<size_t>(rng_.range(0, high_water_ - 1))];
    if (!c.in_use || c.household == 0) continue;
    settle(c, now);
    const bool open_state = c.flow == Flow::RelocatedHerders
                                ? (c.state == State::Awaiting || c.state == State::Processing)
                                : c.state == State::Handling;
    if (!open_state || now - c.last_report >= ladder(c.flow).window) continue;

    const CatDef& def = catalog()[c.cat];
    const GridInfo& g = grids_[c.grid];
    char buf[24];
    std::snprintf(buf, sizeof buf, "r-%08lld", static_cast<long long>(next_report_id_++));
    json report;
    report["report_id"] = buf;
    report["grid"] = org_.units[static_cast<size_t>(g.unit)].id;
    if (!g.workers.empty())
      report["reporter"] = org_.people[static_cast<size_t>(rng_.pick(g.workers))].id;
    report["category"] = def.info.name;
    report["severity"] = c.severity;
    report["title"] = c.title;
    std::string desc("群众再次反映：");
    desc += c.title;
    desc += "。";
    report["description"] = std::move(desc);
    report["occurred_at"] = time_text(now - rng_.range(60, 3600) * kSec);
    report["households_affected"] = 1;
    std::snprintf(buf, sizeof buf, "h-%04d", c.household);
    report["household"] = buf;
    if (c.co_unit != kNoUnit)
      report["hukou_township"] = org_.units[static_cast<size_t>(c.co_unit)].id;
    report["channel"] = "hotline";
    report["location"] = {{"lat", coordinate(g.lat, rng_.uniform())},
                          {"lon", coordinate(g.lon, rng_.uniform())}};
    json line;
    line["type"] = "report";
    line["at"] = time_text(now);
    line["report"] = std::move(report);
    write_line(line);
    ++reports_;

    touch(guard_key(c.grid, c.cat, c.household), now);
    c.last_report = now;
    ++c.report_count;
    // grid-escalation: the third report moves a grid case to the village.
    if (c.flow == Flow::GridEscalation && c.state == State::Handling && c.level == 0 &&
        c.report_count >= 3) {
      c.level = lv_village_;
      c.clock_since = now;
      c.level_since = now;
    }
    return true;
  }
  return false;
}

void Generator::run_action(const Due& due) {
  Case& c = pool_[due.slot];
  const int64_t now = due.at;
  settle(c, now);
  Step s = c.plan[c.pos++];

  std::optional<Actor> sup = supervisor(c);
  const bool handling = c.state == State::Handling;
  bool ok = c.state != State::Closed;
  switch (s) {
    case Step::Accept:
      ok = ok && handling;
      break;
    case Step::Comment:
      break;
    case Step::Resolve:
      ok = ok && (c.state == State::Suspended ||
                  (c.flow == Flow::RelocatedHerders ? c.state == State::Processing : handling));
      break;
    case Step::Verify:
    case Step::Reopen:
      ok = ok && c.state == State::Verifying;
      break;
    case Step::Escalate:
      ok = ok && sla_runs(c.state) && c.level < top_;
      break;
    case Step::Return:
      ok = ok && c.flow == Flow::GridEscalation && handling && c.level > 0 && sup.has_value();
      break;
    case Step::Confirm:
    case Step::Decline:
      ok = ok && c.state == State::Awaiting && c.co_unit != kNoUnit;
      break;
  }
  if (!ok) s = Step::Comment;

  Actor actor;
  std::string_view note;
  const CatDef& def = catalog()[c.cat];
  switch (s) {
    case Step::Accept:
      actor = assignee(c);
      note = "已受理";
      break;
    case Step::Comment:
      actor = rng_.chance(0.6) ? grid_worker(c.grid) : assignee(c);
      note = rng_.pick(c.flow == Flow::Emergency ? kEmergencyComments : kCommentNotes);
      break;
    case Step::Resolve:
      actor = c.flow == Flow::Emergency && sup && rng_.chance(0.2) ? *sup : assignee(c);
      note = rng_.pick(def.done);
      c.state = State::Verifying;
      break;
    case Step::Verify:
      actor = sup ? *sup : assignee(c);  // at the top, the county checks its own work
      note = rng_.pick(kVerifyNotes);
      c.state = State::Closed;
      break;
    case Step::Reopen:
      actor = sup ? *sup : assignee(c);
      note = rng_.pick(kReopenNotes);
      c.state = c.flow == Flow::RelocatedHerders ? State::Processing : State::Handling;
      c.clock_since = now;
      break;
    case Step::Escalate:
      actor = assignee(c);
      note = rng_.pick(kEscalateNotes);
      ++c.level;
      c.clock_since = now;
      c.level_since = now;
      break;
    case Step::Return:
      actor = *sup;
      note = rng_.pick(kReturnNotes);
      --c.level;
      c.clock_since = now;
      c.level_since = now;
      break;
    case Step::Confirm:
    case Step::Decline:
      actor = unit_person(c.co_unit);
      note = rng_.pick(s == Step::Confirm ? kConfirmNotes : kDeclineNotes);
      c.state = State::Processing;
      c.clock_since = now;
      break;
  }

  char buf[24];
  std::snprintf(buf, sizeof buf, "a-%08lld", static_cast<long long>(next_action_id_++));
  json line;
  line["type"] = "action";
  line["at"] = time_text(now);
  line["case_id"] = c.id;
  line["grid"] = org_.units[static_cast<size_t>(grids_[c.grid].unit)].id;
  line["action"] = action_name(s);
  line["actor"] = *actor.id;
  if (actor.unit != nullptr) line["actor_unit"] = *actor.unit;
  if (!note.empty()) line["note"] = note;
  line["action_id"] = buf;
  write_line(line);

  if (c.state == State::Closed || c.pos >= c.plan_len) {
    c.in_use = false;
    c.id.clear();
    free_.push_back(due.slot);
    return;
  }
  due_.push({schedule_time(c, now, c.plan[c.pos]), due_seq_++, due.slot});
}

void Generator::run() {
  if (grids_.empty()) return;
  int64_t next_report = opt_.start.ms;
  while (lines_ < opt_.events) {
    if (!due_.empty() && due_.top().at <= next_report) {
      const Due d = due_.top();
      due_.pop();
      run_action(d);
    } else {
      emit_report(next_report);
      next_report = next_arrival(next_report);
    }
  }
}

}  // namespace

const std::vector<CategoryInfo>& categories() {
  static const std::vector<CategoryInfo> list = [] {
    std::vector<CategoryInfo> v;
    for (const auto& d : catalog()) v.push_back(d.info);
    return v;
  }();
  return list;
}

void generate(const Org& org, const Options& opt, std::ostream& out) {
  Generator g(org, opt, out);
  g.run();
}

}  // namespace gridcase::gen
