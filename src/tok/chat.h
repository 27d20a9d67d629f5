/* chat.h: chat templates (the public smol_chat_* API is in smol.h) and reading a conversation
 * from JSON: an array of {"role", "content"} objects, or an object holding it as "messages". */
#ifndef SMOL_TOK_CHAT_H
#define SMOL_TOK_CHAT_H
#include "smol.h"

/* A parsed conversation: msgs[n] point into the JSON tree kept in `json`. */
typedef struct smol_chat_messages {
    smol_chat_message *msgs;
    size_t n;
    void *json;
} smol_chat_messages;

/* Parses text (len bytes) into out; name (a file name) is used in messages. Bad JSON gives
 * SMOL_EFORMAT with the byte position; a message without a string role or content names its
 * index (a null content reads as ""). */
int smol_chat_messages_parse(const char *text, size_t len, const char *name, smol_chat_messages *out,
                             smol_error *err);

/* Frees what smol_chat_messages_parse allocated; a zeroed struct is fine. */
void smol_chat_messages_free(smol_chat_messages *m);

#endif
