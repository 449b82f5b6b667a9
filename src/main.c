/* main.c — the program: the table of front-ends, handed to the core.  It is
 * the one file that knows both modes, so that src/common never has to. */
#include "forward.h"
#include "reverse.h"
#include "process.h"
#include "util.h"

static const struct frontend *const frontends[] = {&forward_frontend, &reverse_frontend};

int main(int argc, char **argv)
{
    return process_main(argc, argv, frontends, GH_ARRAY_LEN(frontends));
}
