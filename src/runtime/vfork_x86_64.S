/*
 * procs_x86_64.S - vfork() that marks its child.
 *
 * A vfork child runs on its parent's stack and in its parent's memory, TLS included,
 * until it calls exec or _exit: if it closes or dups fds (Python's subprocess does, in
 * close_fds), the shim must not touch the parent's registry. A C wrapper cannot call
 * vfork (returning from the wrapper in the child would wreck the frame the parent
 * returns through), so this one makes the system call itself, as glibc does: the
 * return address is kept in a register across the call. Before the call it sets
 * SL_GUARD_VFORK in this thread's guard word, which the child sees (same TLS); the
 * parent clears it when it resumes. Wrappers forward without recording while it is set.
 */
#include <sys/syscall.h>

#define SL_GUARD_VFORK 0x40000000

        .text
        .globl  vfork
        .type   vfork, @function
        .globl  __vfork
        .type   __vfork, @function
        .p2align 4
vfork:
__vfork:
        .cfi_startproc
        endbr64
        movq    sl_tls_guard@GOTTPOFF(%rip), %rcx
        orl     $SL_GUARD_VFORK, %fs:(%rcx)
        popq    %rdi                    /* return address, safe from the child */
        .cfi_adjust_cfa_offset -8
        .cfi_register %rip, %rdi
        movl    $SYS_vfork, %eax
        syscall
        pushq   %rdi
        .cfi_adjust_cfa_offset 8
        .cfi_rel_offset %rip, 0
        testq   %rax, %rax
        jz      1f                      /* child: keep the mark */
        movq    sl_tls_guard@GOTTPOFF(%rip), %rcx
        andl    $~SL_GUARD_VFORK, %fs:(%rcx)
        cmpq    $-4095, %rax
        jae     2f
1:      ret
2:      negl    %eax
        movl    %eax, %edi
        jmp     sl_vfork_failed         /* sets errno, returns -1 */
        .cfi_endproc
        .size   vfork, .-vfork
        .size   __vfork, .-__vfork

        .section .note.GNU-stack,"",@progbits
