# Varnish in front of the cache scenario's origin: the built-in VCL does the
# rest (it caches the origin's max-age=600 answers).
vcl 4.1;

backend origin {
    .host = "127.0.0.1";
    .port = "@CACHE_ORIGIN_PORT@";
}
