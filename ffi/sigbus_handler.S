# pmemctl's SIGBUS handler, x86_64 Linux, position-independent, no libc.
#
# ffi/sigbus.ts holds the bytes `as` makes of this file (its test assembles
# this file again and compares). The handler runs on the faulting thread with
# (int sig, siginfo_t *si, void *uc) in rdi, rsi, rdx. It never returns: it
# writes one line to stderr and ends the process with exit code 3.
#
# The 8-byte immediate of the first instruction is replaced at install time
# by the address of the guard table that ffi/sigbus.ts keeps:
#   table + 0          pointer, length: reason for a memory error (poison)
#   table + 16         pointer, length: " at offset "
#   table + 32         pointer, length: line for a fault outside every slot
#   table + 64 + 56*i  slot i (i < 40): base, length, file offset of a mapping,
#                      then pointer and length of its prefix
#                      ("pmemctl: map zero /x: ") and of its reason
#                      ("the target shrank or its filesystem is full")
# A slot with length 0 is free. The handler is process-wide: worker threads
# (verify --jobs) fill slots of the same table, each its own.
	.intel_syntax noprefix
	.text
	.globl pmemctl_sigbus
pmemctl_sigbus:
	movabs	r12, 0x1122334455667788		# the table (patched)
	mov	r8, [rsi + 16]			# si->si_addr
	mov	r13d, [rsi + 8]			# si->si_code
	xor	ecx, ecx
	lea	r9, [r12 + 64]
.Lslot:
	cmp	ecx, 40
	jae	.Lunknown
	mov	rax, r8
	sub	rax, [r9]			# address - base (unsigned)
	cmp	rax, [r9 + 8]
	jb	.Lfound				# below length: this mapping
	inc	ecx
	add	r9, 56
	jmp	.Lslot
.Lfound:
	add	rax, [r9 + 16]			# the offset in the target
	mov	r14, rax
	mov	r15, r9
	mov	rsi, [r15 + 24]			# the prefix
	mov	rdx, [r15 + 32]
	call	.Lwrite
	mov	rsi, [r15 + 40]			# the slot's reason...
	mov	rdx, [r15 + 48]
	cmp	r13d, 4				# ...or BUS_MCEERR_AR / _AO: poison
	je	.Lpoison
	cmp	r13d, 5
	jne	.Lreason
.Lpoison:
	mov	rsi, [r12]
	mov	rdx, [r12 + 8]
.Lreason:
	call	.Lwrite
	mov	rsi, [r12 + 16]			# " at offset "
	mov	rdx, [r12 + 24]
	call	.Lwrite
	sub	rsp, 64				# the offset in decimal, then "\n"
	lea	rsi, [rsp + 63]
	mov	byte ptr [rsi], 10
	mov	rax, r14
	mov	r10, 10
.Ldigit:
	xor	edx, edx
	div	r10
	add	dl, 48
	dec	rsi
	mov	[rsi], dl
	test	rax, rax
	jnz	.Ldigit
	lea	rdx, [rsp + 64]
	sub	rdx, rsi
	call	.Lwrite
	jmp	.Lexit
.Lunknown:
	mov	rsi, [r12 + 32]
	mov	rdx, [r12 + 40]
	call	.Lwrite
.Lexit:
	mov	edi, 3
	mov	eax, 231			# exit_group(3)
	syscall
	hlt
.Lwrite:					# write(2, rsi, rdx)
	mov	edi, 2
	mov	eax, 1
	syscall
	ret
