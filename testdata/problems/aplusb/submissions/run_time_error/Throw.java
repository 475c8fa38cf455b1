import java.util.Scanner;

public class Throw {
    public static void main(String[] args) {
        Scanner in = new Scanner(System.in);
        long a = in.nextLong();
        long b = in.nextLong();
        throw new IllegalStateException("deliberate failure " + (a + b));
    }
}
