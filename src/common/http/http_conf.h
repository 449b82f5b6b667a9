/* http_conf.h — the `http` section of the configuration: the limits on what
 * clients and upstreams send (the generation's `limits` and `max_body`),
 * the Via pseudonym and TRACE.  The parser that applies the limits is
 * http1.c; this module only reads them. */
#ifndef GH_HTTP_CONF_H
#define GH_HTTP_CONF_H

struct config_section;

/* max_request_line, max_header_bytes, max_headers, max_body_bytes,
 * underscores_in_headers, via, allow_trace. */
extern const struct config_section http_section;

#endif
