from a3c_ray.cli import main

if __name__ == "__main__":
    main()
