#include "auth/auth.h"

#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "smtp/smtp_addr.h"
#include "store/directory.h"
#include "store/maildir.h"
#include "util/log.h"

int
auth_check_password(const char *data_dir, const char *user,
		    const char *password)
{
	struct directory *dir = directory_for_thread(data_dir);
	if (dir == NULL)
		return -1;
	return directory_check_password(dir, user, password);
}

int
auth_mailbox_of(const char *data_dir, const char *user, char *out,
		size_t outlen)
{
	struct smtp_path p;
	if (smtp_addr_parse_mailbox(user, strlen(user), &p) < 0)
		return -1;
	/* The parser lower-cases the domain; maildir_mailbox_path the
	 * local part: the same folder delivery writes to. */
	return maildir_mailbox_path(data_dir, p.domain, p.local, out, outlen);
}
