// The file is deliberately not named after the class: the judge must take the
// class name from the `public class` declaration.
import java.util.Scanner;

public class APlusB {
    public static void main(String[] args) {
        Scanner in = new Scanner(System.in);
        long a = in.nextLong();
        long b = in.nextLong();
        System.out.println(a + b);
    }
}
