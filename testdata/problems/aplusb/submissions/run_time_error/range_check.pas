{ Runtime error 201 (range check) from an out-of-bounds index. }
program Fail;
{$R+}
var
  a, b: Int64;
  xs: array[1..2] of Int64;
  i: Integer;
begin
  ReadLn(a, b);
  i := 3;
  xs[i] := a + b;
  WriteLn(xs[1]);
end.
