#include "cli/dns_update_send.h"

#include <ldns/ldns.h>

#include <algorithm>

#include "cli/ldns_server.h"

namespace emailroute::cli {
namespace {

// An update waits longer than a query: the server may write its journal first.
constexpr int kTimeoutSeconds = 5;
constexpr std::uint16_t kTsigFudge = 300;  // RFC 8945 section 10: 300 seconds recommended

std::string lower(std::string s) {
  for (char& c : s) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return s;
}

std::string owned(char* s) {
  if (s == nullptr) return "";
  std::string out = s;
  free(s);
  return out;
}

std::string rr_line(const ldns_rr* rr) {
  std::string s = owned(ldns_rr2str(rr));
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

std::string rcode_name(ldns_pkt_rcode rcode) {
  const ldns_lookup_table* lt = ldns_lookup_by_id(ldns_rcodes, rcode);
  return lt ? lt->name : "rcode " + std::to_string(static_cast<int>(rcode));
}

// What two records are compared by: TXT by the bytes of its strings joined
// (how check-dns sees them), everything else by its rdata text in lower case.
std::string rdata_key(const ldns_rr* rr) {
  std::string out;
  for (std::size_t i = 0; i < ldns_rr_rd_count(rr); ++i) {
    const ldns_rdf* rdf = ldns_rr_rdf(rr, i);
    if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_TXT) {
      const std::uint8_t* data = ldns_rdf_data(rdf);
      std::size_t size = ldns_rdf_size(rdf);
      if (size == 0) continue;
      std::size_t len = std::min<std::size_t>(data[0], size - 1);
      out.append(reinterpret_cast<const char*>(data + 1), len);
    } else {
      out += lower(owned(ldns_rdf2str(rdf))) + " ";
    }
  }
  return out;
}

struct RrList {
  ldns_rr_list* list = ldns_rr_list_new();
  ~RrList() { ldns_rr_list_deep_free(list); }
};

// Parses a zone-file line into `to` with class `cls` (and TTL 0 unless `keep_ttl`); false when ldns cannot.
bool push_line(RrList& to, const std::string& line, ldns_rr_class cls, bool keep_ttl) {
  ldns_rr* rr = nullptr;
  if (ldns_rr_new_frm_str(&rr, line.c_str(), 0, nullptr, nullptr) != LDNS_STATUS_OK) return false;
  ldns_rr_set_class(rr, cls);
  if (!keep_ttl) ldns_rr_set_ttl(rr, 0);
  ldns_rr_list_push_rr(to.list, rr);
  return true;
}

// The TSIG error of a reply (RFC 8945 section 5.3), explained; "" when none.
std::string tsig_error(const ldns_pkt* reply) {
  const ldns_rr* tsig = ldns_pkt_tsig(reply);
  if (tsig == nullptr || ldns_rr_rd_count(tsig) < 6) return "";
  switch (ldns_rdf2native_int16(ldns_rr_rdf(tsig, 5))) {
    case 0: return "";
    case 16: return "TSIG error BADSIG: the server has this key name with another secret";
    case 17: return "TSIG error BADKEY: the server does not know this key name or algorithm";
    case 18: return "TSIG error BADTIME: this machine's clock and the server's differ by more than 5 minutes";
    case 22: return "TSIG error BADTRUNC";
    default: return "TSIG error " + std::to_string(ldns_rdf2native_int16(ldns_rr_rdf(tsig, 5)));
  }
}

// A resolver asking only `server` over TCP (an update or a big RRset never
// truncates), without recursion.
Result<ldns_resolver*> new_resolver(const std::string& server) {
  Result<ldns_resolver*> one = resolver_for_server(server);
  if (!one.ok()) return one.status();
  ldns_resolver* res = *one;
  ldns_resolver_set_timeout(res, timeval{kTimeoutSeconds, 0});
  ldns_resolver_set_retry(res, 1);
  ldns_resolver_set_retrans(res, 1);
  ldns_resolver_set_usevc(res, true);
  ldns_resolver_set_recursive(res, false);
  ldns_resolver_set_defnames(res, false);
  ldns_resolver_set_dnsrch(res, false);
  return res;
}

}  // namespace

Result<std::unique_ptr<UpdateServer>> UpdateServer::create(const std::string& server, const TsigKey& key) {
  Result<ldns_resolver*> query = new_resolver(server);
  if (!query.ok()) return Status::invalid("--server: " + query.status().message());
  Result<ldns_resolver*> update = new_resolver(server);
  if (!update.ok()) {
    ldns_resolver_deep_free(*query);
    return update.status();
  }
  ldns_resolver_set_tsig_keyname(*update, key.name.c_str());
  ldns_resolver_set_tsig_algorithm(*update, key.algorithm.c_str());
  ldns_resolver_set_tsig_keydata(*update, key.secret.c_str());
  return std::unique_ptr<UpdateServer>(new UpdateServer(*query, *update));
}

UpdateServer::~UpdateServer() {
  ldns_resolver_deep_free(query_);
  ldns_resolver_deep_free(update_);
}

Result<ZoneInfo> UpdateServer::find_zone(const std::string& name) {
  ldns_rdf* qname = ldns_dname_new_frm_str(name.c_str());
  if (qname == nullptr) return ZoneInfo{"", "", "not a domain name"};
  ldns_pkt* pkt = nullptr;
  ldns_status st = ldns_resolver_send(&pkt, query_, qname, LDNS_RR_TYPE_SOA, LDNS_RR_CLASS_IN, 0);
  ldns_rdf_deep_free(qname);
  if (st != LDNS_STATUS_OK || pkt == nullptr) {
    if (pkt) ldns_pkt_free(pkt);
    return Status::io_error(std::string("the DNS server did not answer (") + ldns_get_errorstr_by_id(st) + ")");
  }
  ZoneInfo out;
  ldns_pkt_rcode rcode = ldns_pkt_get_rcode(pkt);
  if (rcode != LDNS_RCODE_NOERROR && rcode != LDNS_RCODE_NXDOMAIN) {
    out.why = "the server answered " + rcode_name(rcode) + " for " + name + " (it does not serve that zone)";
  } else if (!ldns_pkt_aa(pkt)) {
    out.why = "the server is not authoritative for " + name;
  } else {
    for (const ldns_rr_list* section : {ldns_pkt_answer(pkt), ldns_pkt_authority(pkt)}) {
      for (std::size_t i = 0; section && i < ldns_rr_list_rr_count(section) && out.apex.empty(); ++i) {
        const ldns_rr* rr = ldns_rr_list_rr(section, i);
        if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_SOA) continue;
        out.apex = lower(owned(ldns_rdf2str(ldns_rr_owner(rr))));
        out.soa_line = rr_line(rr);
      }
    }
    if (out.apex.empty()) out.why = "the server's answer for " + name + " has no SOA (delegated elsewhere?)";
  }
  ldns_pkt_free(pkt);
  return out;
}

Status UpdateServer::resolve_removes(ZoneUpdate& update) {
  std::vector<std::string> exact;
  for (const std::string& line : update.remove) {
    ldns_rr* want = nullptr;
    if (ldns_rr_new_frm_str(&want, line.c_str(), 0, nullptr, nullptr) != LDNS_STATUS_OK) {
      return Status::invalid("cannot read the record to delete: " + line);
    }
    ldns_pkt* pkt = nullptr;
    ldns_status st = ldns_resolver_send(&pkt, query_, ldns_rr_owner(want), ldns_rr_get_type(want), LDNS_RR_CLASS_IN, 0);
    std::string key = rdata_key(want);
    bool found = false;
    const ldns_rr_list* answer = pkt ? ldns_pkt_answer(pkt) : nullptr;
    for (std::size_t i = 0; st == LDNS_STATUS_OK && answer && i < ldns_rr_list_rr_count(answer); ++i) {
      const ldns_rr* rr = ldns_rr_list_rr(answer, i);
      if (ldns_rr_get_type(rr) != ldns_rr_get_type(want) || ldns_dname_compare(ldns_rr_owner(rr), ldns_rr_owner(want)) != 0) continue;
      if (rdata_key(rr) != key) continue;
      exact.push_back(rr_line(rr));
      found = true;
    }
    if (pkt) ldns_pkt_free(pkt);
    ldns_rr_free(want);
    if (st != LDNS_STATUS_OK) return Status::io_error(std::string("the DNS server did not answer (") + ldns_get_errorstr_by_id(st) + ")");
    if (!found) return Status::not_found("the server does not hold the record to delete: " + line);
  }
  update.remove = exact;
  return Status::ok_status();
}

Result<UpdateAnswer> UpdateServer::send(const ZoneUpdate& update) {
  RrList prereq, changes;
  // Prerequisite: the zone's SOA, whole, as read before the diff (TTL 0, class IN).
  if (!push_line(prereq, update.soa_line, LDNS_RR_CLASS_IN, false)) return Status::invalid("cannot read the SOA: " + update.soa_line);
  for (const std::string& line : update.remove) {
    // RFC 2136 section 2.5.4: class NONE, TTL 0 deletes this one record.
    if (!push_line(changes, line, LDNS_RR_CLASS_NONE, false)) return Status::invalid("cannot read the record to delete: " + line);
  }
  for (const std::string& line : update.add) {
    if (!push_line(changes, line, LDNS_RR_CLASS_IN, true)) return Status::invalid("cannot read the record to add: " + line);
  }
  ldns_rdf* zone = ldns_dname_new_frm_str(update.zone.c_str());
  if (zone == nullptr) return Status::invalid("not a zone name: " + update.zone);
  ldns_pkt* pkt = ldns_update_pkt_new(zone, LDNS_RR_CLASS_IN, prereq.list, changes.list, nullptr);  // takes `zone`
  if (pkt == nullptr) return Status::io_error("cannot build the update");
  ldns_pkt_set_random_id(pkt);
  ldns_pkt_set_rd(pkt, false);  // RFC 2136 section 2.2: that bit is Z in an update
  ldns_status st = ldns_pkt_tsig_sign(pkt, ldns_resolver_tsig_keyname(update_), ldns_resolver_tsig_keydata(update_), kTsigFudge,
                                      ldns_resolver_tsig_algorithm(update_), nullptr);
  if (st != LDNS_STATUS_OK) {
    ldns_pkt_free(pkt);
    return Status::invalid(std::string("cannot sign the update with TSIG: ") + ldns_get_errorstr_by_id(st));
  }
  ldns_pkt* reply = nullptr;
  st = ldns_send(&reply, update_, pkt);
  ldns_pkt_free(pkt);
  if (reply == nullptr) return Status::io_error(std::string("the DNS server did not answer the update (") + ldns_get_errorstr_by_id(st) + ")");
  UpdateAnswer out;
  ldns_pkt_rcode rcode = ldns_pkt_get_rcode(reply);
  std::string terr = tsig_error(reply);
  out.message = rcode_name(rcode);
  if (!terr.empty()) {
    out.message += ", " + terr;
  } else if (rcode == LDNS_RCODE_NOTAUTH) {
    out.message += ": the server does not let this key update the zone";
  } else if (rcode == LDNS_RCODE_REFUSED) {
    out.message += ": the server refuses updates to this zone from this key or address";
  } else if (rcode == LDNS_RCODE_NXRRSET) {
    out.message += ": the zone changed since it was read (its SOA differs); run dns apply again";
  }
  if (rcode == LDNS_RCODE_NOERROR && st != LDNS_STATUS_OK) {
    out.message += ", but the reply's TSIG does not verify (" + std::string(ldns_get_errorstr_by_id(st)) +
                   "): whether the update was applied is unknown";
  }
  out.accepted = rcode == LDNS_RCODE_NOERROR && st == LDNS_STATUS_OK;
  ldns_pkt_free(reply);
  return out;
}

}  // namespace emailroute::cli
