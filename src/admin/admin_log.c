/*
 * admin_log - a queue id's story from the server's recent log lines
 * (util/log_ring.h): every line that names the id, which covers its
 * arrival, each delivery attempt, bounces and removal.
 */
#include "admin/admin_ops.h"
#include "util/log_ring.h"

int
admin_log_lines(const char *id, void (*cb)(const char *line, void *arg),
		void *arg, struct admin_result *res)
{
	if (!admin_valid_queue_id(id))
		return admin_fail(res, ADMIN_INVALID, "malformed queue id");
	log_ring_find(id, ADMIN_LOG_MAX, cb, arg);
	return 0;
}
