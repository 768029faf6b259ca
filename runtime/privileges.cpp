// Privilege drop; see privileges.h.
#include "runtime/privileges.h"

#include <grp.h>
#include <pwd.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

namespace emailroute {

Status drop_privileges(const std::string& user) {
  passwd pw{};
  passwd* found = nullptr;
  std::vector<char> buf(16384);
  if (getpwnam_r(user.c_str(), &pw, buf.data(), buf.size(), &found) != 0 || found == nullptr) {
    return Status::not_found("no such user: " + user);
  }
  uid_t uid = pw.pw_uid;
  gid_t gid = pw.pw_gid;
  if (setgroups(1, &gid) != 0) return Status::io_error(std::string("setgroups: ") + std::strerror(errno));
  if (setresgid(gid, gid, gid) != 0) return Status::io_error(std::string("setresgid: ") + std::strerror(errno));
  if (setresuid(uid, uid, uid) != 0) return Status::io_error(std::string("setresuid: ") + std::strerror(errno));
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return Status::io_error(std::string("no-new-privs: ") + std::strerror(errno));
  if (uid != 0 && setuid(0) == 0) return Status::io_error("could regain root after dropping privileges");
  return Status::ok_status();
}

}  // namespace emailroute
