#!/usr/bin/python3
"""bench/kstack.py — sorts the samples of `perf script -F ip,sym` (cpu-clock,
call chains with -g) into where a proxy's time goes, for bench/kernel.sh.

Reads the script's text on stdin and prints one "bucket<TAB>fraction" line
per bucket (fractions of all samples, summing to 1):

  user        the sample is in user space
  entry       system call entry and exit (the sample is in the entry code)
  recv        a receiving call (read, recv*, readv): the socket's own work
  recv_copy   ... copying bytes out of the socket
  send        a sending call (write, send*, writev): the socket's own work
  send_copy   ... copying bytes into the socket
  peer        inside any call that sends a segment (data, or the ACK a
              read sends): loopback delivers it to the receiving socket
              and wakes that socket's reader in the sender's context,
              whoever the sender is
  splice      splice(2) but for the above
  epoll       epoll_wait and epoll_ctl (with the scheduling when it sleeps)
  other       any other system call
  irq         kernel time outside a system call (interrupts, softirqs)
"""
import re
import sys

ENTRY = re.compile(r'^(entry_SYSCALL|do_syscall_64|syscall_exit|syscall_return|x64_sys_call|'
                   r'exit_to_user_mode|__x64_sys_|__do_sys_|__se_sys_|syscall_enter|'
                   r'fpregs_restore|switch_fpu|srso_|retbleed_|__x86_return_thunk|clear_bhb)')
COPY = re.compile(r'(rep_movs|copy_user|_copy_to_iter|_copy_from_iter|copy_page|memcpy|'
                  r'skb_copy_datagram|csum_partial_copy)')
PEER = re.compile(r'^(net_rx_action|__netif_receive_skb|process_backlog|handle_softirqs|'
                  r'__do_softirq|do_softirq)')
# The function do_syscall_64 calls (or the libc wrapper above it) names the call.
CALLS = [
    ('splice', re.compile(r'(splice)')),
    ('epoll', re.compile(r'(epoll|ep_poll)')),
    ('recv', re.compile(r'(ksys_read|sys_read|recvfrom|recvmsg|__sys_recv|readv|do_readv|'
                        r'vfs_read|^recv$|^read$|__libc_read|__libc_recv)')),
    ('send', re.compile(r'(ksys_write|sys_write|sendto|sendmsg|__sys_send|writev|do_writev|'
                        r'vfs_write|^send$|^write$|__libc_write|__libc_send)')),
]


def kernel(ip):
    return ip.startswith('ffff')


def classify(frames):
    """frames: [(ip, symbol)], innermost first."""
    if not frames or not kernel(frames[0][0]):
        return 'user'
    syms = [s for ip, s in frames if kernel(ip)]
    if 'do_syscall_64' not in syms:
        return 'irq'
    if ENTRY.match(syms[0]):
        return 'entry'
    at = syms.index('do_syscall_64')
    names = syms[max(0, at - 2):at]  # the call's own functions, outermost last
    user = [s for ip, s in frames if not kernel(ip)]
    if user:
        names.append(user[0])  # the libc wrapper
    call = 'other'
    for name, rx in CALLS:
        if any(rx.search(n) for n in names):
            call = name
            break
    if any(PEER.match(s) for s in syms[:at]):
        return 'peer'
    if call in ('send', 'recv') and COPY.search(syms[0]):
        return call + '_copy'
    return call


def main():
    counts = {}
    total = 0
    frames = []

    def flush():
        nonlocal total, frames
        if frames:
            b = classify(frames)
            counts[b] = counts.get(b, 0) + 1
            total += 1
        frames = []

    for line in sys.stdin:
        if not line.strip():
            flush()
            continue
        if line[0] not in ' \t':  # a sample's header line
            flush()
            continue
        parts = line.split(None, 1)
        ip = parts[0]
        sym = parts[1].strip() if len(parts) > 1 else '[unknown]'
        sym = re.sub(r'\+0x[0-9a-f]+$', '', sym.split(' (')[0])
        frames.append((ip, sym))
    flush()
    for b in ('user', 'entry', 'recv', 'recv_copy', 'send', 'send_copy', 'peer', 'splice',
              'epoll', 'other', 'irq'):
        print('%s\t%.6f' % (b, counts.get(b, 0) / total if total else 0))
    print('samples\t%d' % total)


if __name__ == '__main__':
    main()
