program Sum;
var
  a, b: Int64;
  s: String;
begin
  ReadLn(a, b);
  s := a + b;
  WriteLn(s);
end.
