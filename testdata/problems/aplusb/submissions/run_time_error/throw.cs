using System;

class Program {
    static void Main() {
        var parts = Console.ReadLine().Split((char[])null, StringSplitOptions.RemoveEmptyEntries);
        long sum = long.Parse(parts[0]) + long.Parse(parts[1]);
        throw new InvalidOperationException("deliberate failure " + sum);
    }
}
