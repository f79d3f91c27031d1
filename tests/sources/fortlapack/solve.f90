! Solve the 2x2 system A x = b with LAPACK's dgesv and describe the result in text
! (an internal write: the Fortran runtime, libgfortran, is used too).
subroutine fl_solve2(a, b, info, text) bind(c, name='fl_solve2')
  use iso_c_binding, only: c_double, c_int, c_char
  implicit none
  real(c_double), intent(inout) :: a(2, 2), b(2)
  integer(c_int), intent(out) :: info
  character(kind=c_char), intent(out) :: text(32)
  integer :: ipiv(2), i
  character(len=32) :: line
  external dgesv
  call dgesv(2, 1, a, 2, ipiv, b, 2, info)
  write(line, '(A,I0,A,F4.1,A,F4.1)') 'info=', info, ' x=', b(1), ',', b(2)
  do i = 1, 32
    text(i) = line(i:i)
  end do
end subroutine fl_solve2
