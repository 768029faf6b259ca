#include "cli/dns_query.h"

#include <ldns/ldns.h>

#include <algorithm>
#include <cstdio>

#include "cli/ldns_server.h"

namespace emailroute::cli {
namespace {

constexpr int kTimeoutSeconds = 2;
constexpr int kRetries = 2;

ldns_rr_type rr_type(DnsType t) {
  switch (t) {
    case DnsType::kA: return LDNS_RR_TYPE_A;
    case DnsType::kAaaa: return LDNS_RR_TYPE_AAAA;
    case DnsType::kMx: return LDNS_RR_TYPE_MX;
    case DnsType::kTxt: return LDNS_RR_TYPE_TXT;
    case DnsType::kPtr: return LDNS_RR_TYPE_PTR;
    case DnsType::kCname: return LDNS_RR_TYPE_CNAME;
  }
  return LDNS_RR_TYPE_A;
}

std::string rdf_text(const ldns_rdf* rdf) {
  if (rdf == nullptr) return "";
  char* s = ldns_rdf2str(rdf);
  if (s == nullptr) return "";
  std::string out = s;
  free(s);
  return out;
}

std::string lower(std::string s) {
  for (char& c : s) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return s;
}

// The character-strings of a TXT record joined, bytes outside printable ASCII as \DDD.
std::string txt_text(const ldns_rr* rr) {
  std::string out;
  for (std::size_t i = 0; i < ldns_rr_rd_count(rr); ++i) {
    const ldns_rdf* rdf = ldns_rr_rdf(rr, i);
    const std::uint8_t* data = ldns_rdf_data(rdf);
    std::size_t size = ldns_rdf_size(rdf);
    if (size == 0) continue;
    std::size_t len = data[0];
    if (len > size - 1) len = size - 1;
    for (std::size_t j = 1; j <= len; ++j) {
      unsigned char c = data[j];
      if (c >= 0x20 && c < 0x7f) {
        out += static_cast<char>(c);
      } else {
        char buf[8];
        std::snprintf(buf, sizeof buf, "\\%03u", c);
        out += buf;
      }
    }
  }
  return out;
}

std::string value_of(const ldns_rr* rr, DnsType type) {
  switch (type) {
    case DnsType::kA:
    case DnsType::kAaaa: return rdf_text(ldns_rr_rdf(rr, 0));
    case DnsType::kMx: return rdf_text(ldns_rr_rdf(rr, 0)) + " " + lower(rdf_text(ldns_rr_rdf(rr, 1)));
    case DnsType::kTxt: return txt_text(rr);
    case DnsType::kPtr:
    case DnsType::kCname: return lower(rdf_text(ldns_rr_rdf(rr, 0)));
  }
  return "";
}

}  // namespace

Result<std::unique_ptr<LdnsLookup>> LdnsLookup::create(const std::string& server) {
  ldns_resolver* res = nullptr;
  if (server.empty()) {
    ldns_status st = ldns_resolver_new_frm_file(&res, nullptr);
    if (st != LDNS_STATUS_OK) return Status::io_error(std::string("/etc/resolv.conf: ") + ldns_get_errorstr_by_id(st));
  } else {
    Result<ldns_resolver*> one = resolver_for_server(server);
    if (!one.ok()) return Status::invalid("--resolver: " + one.status().message());
    res = *one;
  }
  if (ldns_resolver_nameserver_count(res) == 0) {
    ldns_resolver_deep_free(res);
    return Status::io_error("no DNS server to ask");
  }
  ldns_resolver_set_timeout(res, timeval{kTimeoutSeconds, 0});
  ldns_resolver_set_retry(res, kRetries);
  ldns_resolver_set_retrans(res, 1);
  ldns_resolver_set_fallback(res, true);  // truncated over UDP: ask again over TCP
  ldns_resolver_set_usevc(res, false);
  ldns_resolver_set_recursive(res, true);
  ldns_resolver_set_defnames(res, false);  // names are absolute: no search list
  ldns_resolver_set_dnsrch(res, false);
  ldns_resolver_set_edns_udp_size(res, 1232);
  return std::unique_ptr<LdnsLookup>(new LdnsLookup(res));
}

LdnsLookup::~LdnsLookup() { ldns_resolver_deep_free(res_); }

LookupResult LdnsLookup::lookup(const std::string& name, DnsType type) {
  LookupResult out;
  if (!unreachable_.empty()) {
    // One timeout is enough: do not wait again for each of the next questions.
    out.status = LookupStatus::kFailed;
    out.error = "not asked: " + unreachable_;
    return out;
  }
  ldns_rdf* qname = ldns_dname_new_frm_str(name.c_str());
  if (qname == nullptr) {
    out.status = LookupStatus::kNxDomain;  // not a valid name: nothing can be there
    return out;
  }
  ldns_pkt* pkt = nullptr;
  ldns_status st = ldns_resolver_send(&pkt, res_, qname, rr_type(type), LDNS_RR_CLASS_IN, LDNS_RD);
  ldns_rdf_deep_free(qname);
  if (st != LDNS_STATUS_OK || pkt == nullptr) {
    if (pkt) ldns_pkt_free(pkt);
    out.status = LookupStatus::kFailed;
    out.error = st != LDNS_STATUS_OK ? ldns_get_errorstr_by_id(st) : "no answer";
    unreachable_ = "the DNS server did not answer (" + out.error + ")";
    out.error = unreachable_;
    return out;
  }
  ldns_pkt_rcode rcode = ldns_pkt_get_rcode(pkt);
  if (rcode == LDNS_RCODE_NXDOMAIN) {
    out.status = LookupStatus::kNxDomain;
  } else if (rcode != LDNS_RCODE_NOERROR) {
    out.status = LookupStatus::kFailed;
    const ldns_lookup_table* lt = ldns_lookup_by_id(ldns_rcodes, rcode);
    out.error = lt ? lt->name : "rcode " + std::to_string(static_cast<int>(rcode));
  } else {
    const ldns_rr_list* answer = ldns_pkt_answer(pkt);
    std::size_t count = answer ? ldns_rr_list_rr_count(answer) : 0;
    for (std::size_t i = 0; i < count && out.values.size() < kMaxRecordsPerAnswer; ++i) {
      const ldns_rr* rr = ldns_rr_list_rr(answer, i);
      if (ldns_rr_get_type(rr) != rr_type(type) || ldns_rr_get_class(rr) != LDNS_RR_CLASS_IN) continue;
      out.values.push_back(value_of(rr, type));
    }
    out.status = out.values.empty() ? LookupStatus::kNoData : LookupStatus::kOk;
  }
  ldns_pkt_free(pkt);
  return out;
}

}  // namespace emailroute::cli
