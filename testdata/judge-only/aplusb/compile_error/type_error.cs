using System;

class Program {
    static void Main() {
        var parts = Console.ReadLine().Split((char[])null, StringSplitOptions.RemoveEmptyEntries);
        int sum = long.Parse(parts[0]) + long.Parse(parts[1]);
        Console.WriteLine(sum);
    }
}
