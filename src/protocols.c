#include "protocols.h"

#include "conf/config.h"
#include "imap/imap_server.h"
#include "pop3/pop3_server.h"
#include "smtp/smtp_server.h"

#define LIST(field) offsetof(struct config, field)

const struct protocol_listen protocol_listeners[] = {
    {"smtp_listen", LIST(smtp_listen), smtp_server_accept},
    {"submission_listen", LIST(submission_listen), smtp_submission_accept},
    {"smtps_listen", LIST(smtps_listen), smtps_accept},
    {"pop3_listen", LIST(pop3_listen), pop3_server_accept},
    {"pop3s_listen", LIST(pop3s_listen), pop3s_accept},
    {"imap_listen", LIST(imap_listen), imap_server_accept},
    {"imaps_listen", LIST(imaps_listen), imaps_accept},
};

const size_t protocol_n_listeners =
    sizeof(protocol_listeners) / sizeof(protocol_listeners[0]);
