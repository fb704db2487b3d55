"""`coalwood predict`: Homer's calculation from the command line, forwards and backwards.

Forwards: a rocket and a motor give the apogee, the speeds, the rail exit speed and where it
lands. Backwards (--reverse): a measured apogee gives the drag coefficient that explains it,
and a point on the ground gives whether any launch from the pad could come down there.
"""

import argparse
import json
import math
import os

from ground.cli_common import EXIT_BAD_INPUT, EXIT_OK, CliError

EPILOG = """\
examples:
  coalwood predict --motor C6 --mass-g 100 --diameter-mm 24.8 --cd 0.75 --main-ms 4.5
  coalwood predict --motor my_motors/H180W.eng --mass-g 900 --diameter-mm 54 --cd 0.6 \\
      --wind-ms 4 --wind-dir 270 --rail-m 1.8 --rail-angle-deg 5 --rail-bearing-deg 270 \\
      --drogue-ms 20 --main-ms 6 --main-deploy-m 150 --png flight.png
  the drag coefficient from a measured apogee (or from a downloaded flight's):
  coalwood predict --motor C6 --mass-g 100 --diameter-mm 24.8 --reverse --apogee-m 180
  coalwood predict --motor H128W --mass-g 900 --diameter-mm 54 --reverse --flight flight-0003-f0ca8cc2b65089dd.cwf
  a rocket kept in a file, and flown from it again with one value changed:
  coalwood predict --motor H128W --mass-g 900 --diameter-mm 54 --cd 0.6 --main-ms 6 \
      --save-rocket juno.json
  coalwood predict --rocket juno.json --wind-ms 6
  could it have come down there? October Sky's question: could Homer's rocket have
  started the forest fire three miles (4828 m) away? Every rail within 30 degrees of
  vertical, at any bearing, is flown under the wind for the farthest landing:
  coalwood predict --motor J350W --mass-g 1000 --diameter-mm 41 --cd 0.5 \\
      --wind-ms 5 --wind-dir 270 --reverse --landed-m 4828 --landed-bearing-deg 90

--mass-g is the rocket without its motor: the motor's loaded mass comes from its file.
--wind-dir is where the wind blows from (270: a west wind, which carries the rocket east).
Without --drogue-ms or --main-ms the rocket comes down ballistically (and is told so).
"""

COMPASS = ("N", "NNE", "NE", "ENE", "E", "ESE", "SE", "SSE",
           "S", "SSW", "SW", "WSW", "W", "WNW", "NW", "NNW")


def add_parser(subparsers):
    p = subparsers.add_parser(
        "predict", help="predict a flight (apogee, speeds, landing), or run it backwards",
        description="Predict a flight with the point-mass trajectory model: apogee, time to\n"
        "apogee, max speed and Mach, max acceleration, rail exit speed, and where it lands.\n"
        "--reverse runs it backwards: the drag coefficient that reproduces a measured apogee\n"
        "(--apogee-m, or --flight with a downloaded .cwf), or whether any launch from the pad\n"
        "could land at a given point (--landed-m, --landed-bearing-deg).",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    rocket = p.add_argument_group("the rocket and its motor")
    rocket.add_argument("--rocket", metavar="FILE.json",
                        help="a rocket file (see --save-rocket): the rocket, its motor and the "
                        "day; options given here override its values")
    rocket.add_argument("--motor", metavar="FILE.eng|NAME",
                        help="a RASP .eng file, or a bundled motor: C6, H128W, J350W "
                        "(required, here or in --rocket)")
    rocket.add_argument("--mass-g", type=float, metavar="G",
                        help="the rocket without its motor, in grams (required, here or in "
                        "--rocket)")
    rocket.add_argument("--diameter-mm", type=float, metavar="MM",
                        help="body diameter (the reference area for Cd), in mm (required, "
                        "here or in --rocket)")
    rocket.add_argument("--cd", type=float, metavar="C",
                        help="drag coefficient (not needed with --apogee-m or --flight: it is "
                        "what they fit)")
    rocket.add_argument("--drogue-ms", type=float, metavar="R",
                        help="descent rate under the drogue, opened at apogee (m/s)")
    rocket.add_argument("--main-ms", type=float, metavar="R",
                        help="descent rate under the main (m/s); at apogee unless "
                        "--main-deploy-m")
    rocket.add_argument("--main-deploy-m", type=float, metavar="H",
                        help="height above the pad at which the main opens (with a drogue)")
    launch = p.add_argument_group("the launch")
    launch.add_argument("--rail-m", type=float, metavar="L",
                        help="rail or rod length (default 1.0 m)")
    launch.add_argument("--rail-angle-deg", type=float, metavar="A",
                        help="rail tilt from vertical (default 0)")
    launch.add_argument("--rail-bearing-deg", type=float, metavar="B",
                        help="compass bearing the rail leans toward (default 0, north)")
    launch.add_argument("--wind-ms", type=float, metavar="W",
                        help="steady wind speed (default 0 m/s)")
    launch.add_argument("--wind-dir", type=float, metavar="DEG",
                        help="compass bearing the wind blows from (default 0)")
    launch.add_argument("--pad-alt-m", type=float, metavar="M",
                        help="pad altitude above sea level (default 0; with --flight, the "
                        "pressure altitude of the pad pressure the log recorded)")
    launch.add_argument("--temp-c", type=float, metavar="C",
                        help="air temperature at the pad (default: the standard day's)")
    reverse = p.add_argument_group("backwards (--reverse)")
    reverse.add_argument("--reverse", action="store_true",
                         help="run the calculation backwards: give one of the three below")
    reverse.add_argument("--apogee-m", type=float, metavar="H",
                         help="a measured apogee above the pad: fit Cd to it")
    reverse.add_argument("--flight", metavar="FILE.cwf",
                         help="a downloaded flight: fit Cd to its apogee")
    reverse.add_argument("--landed-m", type=float, metavar="DIST",
                         help="a point on the ground this far from the pad: could a launch "
                              "land there?")
    reverse.add_argument("--landed-bearing-deg", type=float, metavar="B",
                         help="the compass bearing of that point from the pad")
    reverse.add_argument("--max-rail-angle-deg", type=float, default=30.0, metavar="A",
                         help="with --landed-m: the steepest rail searched (default 30 "
                              "degrees, the model rocket safety code's limit)")
    out = p.add_argument_group("output")
    out.add_argument("--json", action="store_true", help="one JSON object for scripts")
    out.add_argument("--png", metavar="OUT.png",
                     help="also draw altitude against time and the ground track into OUT.png")
    out.add_argument("--png-size", default="1000x450", metavar="WxH",
                     help="the picture's size in pixels (default 1000x450)")
    out.add_argument("--save-rocket", metavar="FILE.json",
                     help="write the rocket, motor and day used (the fitted Cd with "
                     "--apogee-m or --flight) as a rocket file for --rocket")
    p.set_defaults(func=cmd_predict)


# --- inputs ----------------------------------------------------------------------------------
# rocket file keys are the options' own names; the launch options' defaults apply only after
# the file is read, or a default would hide the file's value
LAUNCH_DEFAULTS = {"rail_m": 1.0, "wind_ms": 0.0, "wind_dir": 0.0}


def _merge_rocket_file(args):
    """Fill what the command line leaves out from --rocket, then insist on a whole rocket."""
    args.rocket_name = None
    args.cd_source = "--cd" if args.cd is not None else None
    args.motor_source = None  # the rocket file, when the motor is its
    if args.rocket is not None:
        from ground.trajectory import spec

        try:
            values = spec.read(args.rocket)
        except spec.SpecError as exc:
            raise CliError("--rocket %s" % exc) from None
        for key, value in values.items():
            if key == "name":
                args.rocket_name = value
            elif getattr(args, key) is None:
                setattr(args, key, value)
                if key == "cd":
                    args.cd_source = args.rocket
                elif key == "motor":
                    args.motor_source = args.rocket
    for flag, key in (("--motor", "motor"), ("--mass-g", "mass_g"),
                      ("--diameter-mm", "diameter_mm")):
        if getattr(args, key) is None:
            raise CliError("give %s (or a --rocket file with %r)" % (flag, key))
    for key, value in LAUNCH_DEFAULTS.items():
        if getattr(args, key) is None:
            setattr(args, key, value)


def _check_folder(flag, path):
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise CliError("%s %s: no folder %s to write it in" % (flag, path, folder))


def _save_rocket(args, cd, conditions):
    from ground.trajectory import spec

    values = {"name": args.rocket_name, "motor": args.motor, "mass_g": args.mass_g,
              "diameter_mm": args.diameter_mm, "cd": cd, "drogue_ms": args.drogue_ms,
              "main_ms": args.main_ms, "main_deploy_m": args.main_deploy_m,
              "rail_m": args.rail_m, "rail_angle_deg": conditions.get("rail_angle_deg"),
              "rail_bearing_deg": conditions.get("rail_bearing_deg"),
              "wind_ms": args.wind_ms, "wind_dir": args.wind_dir,
              # only a pad height and temperature someone gave: a saved default of sea level
              # would override the pad a downloaded flight measured when the file is reused
              "pad_alt_m": args.pad_alt_m, "temp_c": args.temp_c}
    try:
        spec.save(args.save_rocket, values)
    except (OSError, spec.SpecError) as exc:
        raise CliError("--save-rocket %s: could not write it (%s)" % (
            args.save_rocket, getattr(exc, "strerror", None) or exc)) from None


def _positive(value, flag, unit):
    if value is None or not math.isfinite(value) or value <= 0:
        raise CliError("%s must be a positive number of %s, not %s" % (flag, unit, value))
    return value


def _load_motor(text, rocket_file=None):
    """The motor named by --motor, or by the rocket file `rocket_file` (the message then
    names that file: the mistake is in it, not on the command line)."""
    from ground.trajectory.motor import EngError
    from ground.trajectory.spec import load_motor

    where = "--motor" if rocket_file is None else "--rocket %s: motor" % rocket_file
    try:
        return load_motor(text)
    except EngError as exc:
        if rocket_file is None and not str(exc).startswith("no motor file"):
            raise CliError(str(exc), EXIT_BAD_INPUT) from None  # it names the file and line
        raise CliError("%s: %s" % (where, exc), EXIT_BAD_INPUT) from None
    except OSError as exc:
        raise CliError("%s %s: cannot read it (%s)" % (where, text, exc.strerror or exc)) from None


def _png_size(text):
    from ground.flight.plot import PlotError, check_size  # no Qt until it draws

    try:
        width, height = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise CliError("--png-size is WIDTHxHEIGHT in pixels (for example 1000x450), not %r"
                       % text) from None
    try:
        return check_size(width, height)
    except PlotError as exc:
        raise CliError("--png-size: %s" % exc) from None


def _mode(args):
    answers = [name for name, value in (("--apogee-m", args.apogee_m), ("--flight", args.flight),
                                        ("--landed-m", args.landed_m)) if value is not None]
    if not args.reverse:
        if answers or args.landed_bearing_deg is not None:
            raise CliError("%s is for --reverse" % (answers[0] if answers
                                                    else "--landed-bearing-deg"))
        if args.cd is None:
            raise CliError("give the drag coefficient (--cd; 0.75 is typical of a small sport "
                           "rocket, 0.4-0.6 of a sleek high-power one), or fit it to a flown "
                           "apogee with --reverse --apogee-m")
        return "predict"
    if len(answers) != 1:
        raise CliError("--reverse needs one of --apogee-m, --flight or --landed-m%s" % (
            "" if not answers else ", not %s together" % " and ".join(answers)))
    if args.landed_m is None:
        if args.landed_bearing_deg is not None:
            raise CliError("--landed-bearing-deg goes with --landed-m")
        return "fit"
    if args.landed_bearing_deg is None:
        raise CliError("--landed-m needs --landed-bearing-deg: the point's bearing from the pad")
    if args.cd is None:
        raise CliError("--landed-m needs the drag coefficient (--cd)")
    for flag, value in (("--rail-angle-deg", args.rail_angle_deg),
                        ("--rail-bearing-deg", args.rail_bearing_deg)):
        if value is not None:
            raise CliError("--landed-m searches every rail angle up to --max-rail-angle-deg "
                           "(%g) and every bearing: leave out %s" % (args.max_rail_angle_deg,
                                                                    flag))
    return "reach"


def _rocket(args, cd):
    from ground.trajectory.spec import rocket_of

    mass_g = _positive(args.mass_g, "--mass-g", "grams")
    diameter_mm = _positive(args.diameter_mm, "--diameter-mm", "mm")
    if args.main_deploy_m is not None and args.main_ms is None:
        raise CliError("--main-deploy-m needs --main-ms: the main's descent rate")
    if args.drogue_ms is not None and args.main_ms is not None and args.main_deploy_m is None:
        raise CliError("with a drogue, the main needs the height it opens at (--main-deploy-m)")
    # the rocket file's own mapping: a rocket from options flies as one from a file
    return rocket_of({"name": args.rocket_name, "mass_g": mass_g, "diameter_mm": diameter_mm,
                      "cd": cd, "rail_m": args.rail_m, "drogue_ms": args.drogue_ms,
                      "main_ms": args.main_ms, "main_deploy_m": args.main_deploy_m})


def _flight_apogee(path):
    from ground import flightfile
    from ground.flight.formats import pressure_altitude_m

    try:
        log = flightfile.load(path)
    except FileNotFoundError:
        raise CliError("--flight: no such file %s" % path) from None
    except OSError as exc:
        raise CliError("--flight %s: %s" % (path, exc.strerror or exc)) from None
    except flightfile.FlightFileError as exc:
        raise CliError("--flight %s: %s" % (path, exc)) from None
    apogee_m = log.apogee_m
    if apogee_m is None or apogee_m <= 0:
        raise CliError("--flight %s: the log has no altitude above the pad, so no apogee to fit"
                       % path)
    pad_alt_m = None
    pad_pa = log.header.pad_pressure_pa
    if log.header.crc_ok and 40000 < pad_pa < 110000:
        # the air's density is what matters to drag: the pressure altitude of the pad pressure
        # measured on the day puts the model's air at that pressure
        pad_alt_m = pressure_altitude_m(pad_pa)
    return apogee_m, pad_alt_m, pad_pa


def _conditions(args, pad_alt_m):
    conditions = {"wind_speed_m_s": args.wind_ms, "wind_from_deg": args.wind_dir,
                  "pad_altitude_m": pad_alt_m if pad_alt_m is not None else 0.0,
                  "pad_temperature_c": args.temp_c}
    if args.rail_angle_deg is not None:
        conditions["rail_angle_deg"] = args.rail_angle_deg
    if args.rail_bearing_deg is not None:
        conditions["rail_bearing_deg"] = args.rail_bearing_deg
    return conditions


def _inputs(args, motor, cd, conditions):
    return {
        "motor": {"name": motor.name, "manufacturer": motor.manufacturer, "source": motor.source,
                  "total_impulse_ns": motor.total_impulse_ns, "burn_time_s": motor.burn_time_s,
                  "loaded_mass_kg": motor.total_kg},
        "mass_g": args.mass_g, "diameter_mm": args.diameter_mm, "cd": cd, "rail_m": args.rail_m,
        "drogue_ms": args.drogue_ms, "main_ms": args.main_ms, "main_deploy_m": args.main_deploy_m,
        "rail_angle_deg": conditions.get("rail_angle_deg", 0.0),
        "rail_bearing_deg": conditions.get("rail_bearing_deg", 0.0),
        "wind_ms": conditions["wind_speed_m_s"], "wind_dir_deg": conditions["wind_from_deg"],
        "pad_altitude_m": conditions["pad_altitude_m"],
        "pad_temperature_c": conditions["pad_temperature_c"],
    }


# --- the command -------------------------------------------------------------------------------
def cmd_predict(args):
    from ground.trajectory import TrajectoryError

    _merge_rocket_file(args)
    mode = _mode(args)
    png_size = _png_size(args.png_size) if args.png else None
    if args.png:
        _check_folder("--png", args.png)
    if args.save_rocket:
        _check_folder("--save-rocket", args.save_rocket)
    motor = _load_motor(args.motor, args.motor_source)
    try:
        if mode == "predict":
            doc, flight, target_xy = _predict(args, motor)
        elif mode == "fit":
            doc, flight, target_xy = _fit(args, motor)
        else:
            doc, flight, target_xy = _reach(args, motor)
    except TrajectoryError as exc:
        raise CliError(str(exc), EXIT_BAD_INPUT) from None
    if args.save_rocket:
        conditions = dict(flight.conditions)
        if mode == "reach":
            conditions["rail_angle_deg"] = conditions["rail_bearing_deg"] = None  # searched
        _save_rocket(args, flight.rocket.cd, conditions)
    if args.png:
        _draw(args.png, png_size, flight, doc["title"], target_xy)
    doc["png"] = args.png
    doc["saved_rocket"] = args.save_rocket
    title = doc.pop("title")
    if args.json:
        doc.pop("text")
        print(json.dumps(doc))
    else:
        print(title)
        for line in doc["text"]:
            print(line)
        if args.png:
            print("  drawn into %s" % args.png)
        if args.save_rocket:
            print("  rocket saved to %s" % args.save_rocket)
    return EXIT_OK


def _draw(path, size, flight, title, target_xy):
    from ground.flight.plot import PlotError
    from ground.trajectory.plot import write_png

    try:
        write_png(flight, path, *size, title=title, target_xy_m=target_xy)
    except PlotError as exc:
        raise CliError("--png: %s" % exc) from None
    except ImportError as exc:
        raise CliError("--png needs Qt (PySide6) and pyqtgraph: %s" % exc) from None
    except OSError:
        raise CliError("--png %s: could not write it (is the folder writable?)" % path) from None


def _compass(bearing_deg):
    return COMPASS[int((bearing_deg % 360.0) / 22.5 + 0.5) % 16]


def _toward(bearing_deg):
    return "%.0f deg (%s)" % (bearing_deg % 360.0, _compass(bearing_deg))


def _wind_text(conditions):
    if not conditions["wind_speed_m_s"]:
        return "no wind"
    return "a %.1f m/s wind from %s" % (conditions["wind_speed_m_s"],
                                        _toward(conditions["wind_from_deg"]))


def _flight_lines(f):
    from ground.trajectory.atmosphere import G0_M_S2

    lines = [
        "  apogee             %.1f m above the pad, %.2f s after ignition"
        % (f.apogee_m, f.time_to_apogee_s),
        "  max speed          %.1f m/s, Mach %.2f" % (f.max_speed_m_s, f.max_mach),
        "  max acceleration   %.1f m/s^2 (%.1f g)" % (f.max_accel_m_s2, f.max_accel_m_s2 / G0_M_S2),
        "  rail exit speed    %.1f m/s, %.2f s after ignition"
        % (f.rail_exit_speed_m_s, f.rail_exit_time_s),
        "  lands              %s, %.1f s after ignition, at %.1f m/s" % (
            "back at the pad" if f.landing_distance_m < 0.5 else "%.0f m from the pad toward %s"
            % (f.landing_distance_m, _toward(f.landing_bearing_deg)), f.landing_time_s,
            f.landing_speed_m_s),
    ]
    lines += ["warning: %s" % w for w in f.warnings]
    return lines


def _describe(motor, rocket, flight):
    return "%s %s in a %s, Cd %.3g: %.0f g at liftoff" % (
        motor.manufacturer, motor.name, rocket.name, rocket.cd, flight.liftoff_mass_kg * 1000)


def _predict(args, motor):
    from ground.trajectory import simulate

    conditions = _conditions(args, args.pad_alt_m)
    rocket = _rocket(args, args.cd)
    flight = simulate(rocket, motor, **conditions)
    doc = {"mode": "predict", "inputs": _inputs(args, motor, args.cd, conditions)}
    doc.update(flight.summary())
    doc["title"] = _describe(motor, rocket, flight)
    doc["text"] = ["  under %s" % _wind_text(conditions), *_flight_lines(flight)]
    return doc, flight, None


def _fit(args, motor):
    from ground.trajectory import reverse

    pad_alt_m, source, pad_note = args.pad_alt_m, "--apogee-m", None
    if args.flight is not None:
        apogee_m, log_pad_alt_m, pad_pa = _flight_apogee(args.flight)
        source = args.flight
        if pad_alt_m is None and log_pad_alt_m is not None:
            pad_alt_m = log_pad_alt_m
            pad_note = "the pad at %.0f m, the pressure altitude of the %d Pa the log " \
                       "recorded there" % (pad_alt_m, pad_pa)
    else:
        apogee_m = args.apogee_m
    conditions = _conditions(args, pad_alt_m)
    rocket = _rocket(args, args.cd if args.cd is not None else 0.5)
    fit = reverse.fit_cd(rocket, motor, apogee_m, **conditions)
    flight = fit.flight
    doc = {"mode": "fit-cd", "inputs": _inputs(args, motor, args.cd, conditions),
           "apogee_source": source}
    doc.update(fit.summary())
    doc["title"] = "Cd %.3f reproduces the measured apogee of %.1f m (%s): %s %s in a %s" % (
        fit.cd, apogee_m, "given" if args.flight is None else os.path.basename(args.flight),
        motor.manufacturer, motor.name, rocket.name)
    text = ["  under %s%s" % (_wind_text(conditions), ", " + pad_note if pad_note else "")]
    if args.cd is not None:
        given = ("the --cd %g given" % args.cd if args.cd_source == "--cd" else
                 "the Cd %g of %s" % (args.cd, args.cd_source))
        text.append("  (%s is not used: the fit replaces it)" % given)
    doc["text"] = text + _flight_lines(flight)
    return doc, flight, None


def _reach(args, motor):
    from ground.trajectory import reverse

    if not (math.isfinite(args.landed_m) and args.landed_m >= 0):
        raise CliError("--landed-m must be zero or more metres, not %s" % args.landed_m)
    if not math.isfinite(args.landed_bearing_deg):
        raise CliError("--landed-bearing-deg must be a compass bearing in degrees, not %s"
                       % args.landed_bearing_deg)
    conditions = _conditions(args, args.pad_alt_m)
    rocket = _rocket(args, args.cd)
    answer = reverse.reach(rocket, motor, args.landed_m, args.landed_bearing_deg,
                           max_angle_deg=args.max_rail_angle_deg, **conditions)
    # the picture shows the launch that comes closest to the point when one was looked for
    launch = answer.closest_launch or answer.farthest_launch
    flight = reverse.flight_of(rocket, motor, launch, **conditions)
    doc = {"mode": "reach", "inputs": _inputs(args, motor, args.cd, conditions)}
    doc["inputs"]["rail_angle_deg"] = doc["inputs"]["rail_bearing_deg"] = None  # searched
    doc.update(answer.summary())
    doc["flight"] = flight.summary()
    where = "%.0f m from the pad toward %s" % (answer.target_distance_m,
                                               _toward(answer.target_bearing_deg))
    doc["title"] = "Could the %s %s in a %s, Cd %.3g, land %s? %s" % (
        motor.manufacturer, motor.name, rocket.name, rocket.cd, where,
        "Yes." if answer.reachable else "No.")
    far_angle, far_bearing = answer.farthest_launch
    far_distance, far_toward = answer.farthest_landing
    text = ["  every rail within %g deg of vertical, at any bearing, under %s (%d trial "
            "flights)" % (answer.max_angle_deg, _wind_text(conditions), answer.flights),
            "  the farthest landing is %.0f m from the pad toward %s, from a rail tilted "
            "%.1f deg toward %s" % (far_distance, _toward(far_toward), far_angle,
                                    _toward(far_bearing))]
    if answer.reachable:
        angle, bearing = answer.closest_launch
        text.append("  a rail tilted %.1f deg toward %s lands %.0f m from that point"
                    % (angle, _toward(bearing), answer.closest_miss_m))
    elif answer.closest_miss_m is None:
        text.append("  the point is %.1f times as far as any launch can reach"
                    % (answer.target_distance_m / max(far_distance, 1e-9)))
    else:
        angle, bearing = answer.closest_launch
        text.append("  within that distance, but not in that direction: the closest any launch "
                    "comes is %.0f m from it (a rail tilted %.1f deg toward %s)"
                    % (answer.closest_miss_m, angle, _toward(bearing)))
    doc["text"] = text
    target_xy = (answer.target_distance_m * math.sin(math.radians(answer.target_bearing_deg)),
                 answer.target_distance_m * math.cos(math.radians(answer.target_bearing_deg)))
    return doc, flight, target_xy
